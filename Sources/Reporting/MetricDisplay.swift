import Experiments
import Procedures

/// How a metric reads: a 0/1 indicator (documented as "1 when …") is a probability (its mean, with a
/// binomial error), a whole-number metric is a count (quantiles rounded to whole numbers, since the sketch's 0.1 % error would print 30
/// as 29.99), anything else a continuous quantity.
enum MetricDisplay: Equatable {
    case probability, count, continuous

    static func of(_ r: RunningStatistics, _ spec: MetricSpec) -> MetricDisplay {
        guard r.count > 0, r.minimum.isFinite, r.maximum.isFinite else { return .continuous }
        // The extremes first: they settle most continuous metrics without unpacking the sketch, which a
        // year map does for every metric of every cell.
        guard r.minimum == r.minimum.rounded(), r.maximum == r.maximum.rounded() else { return .continuous }
        // Sketch representatives lie within the relative accuracy of the value they stand for.
        func nearInteger(_ v: Double) -> Bool { abs(v - v.rounded()) <= max(1e-9, 2 * QuantileSketch.relativeAccuracy * abs(v)) }
        guard r.sketch.weightedValues().allSatisfy({ nearInteger($0.value) }) else { return .continuous }
        if r.minimum >= 0 && r.maximum <= 1 && spec.doc.hasPrefix("1 when") { return .probability }
        return .count
    }
}
