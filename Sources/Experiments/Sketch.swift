import Foundation

/// A mergeable quantile sketch: counts in logarithmic buckets of |x| (the DDSketch scheme of Masson,
/// Rim & Lee, VLDB 2019). Bucket i holds |x| in (γ^(i−1), γ^i] with γ = (1+α)/(1−α); a quantile is
/// reported as 2γ^i/(γ+1), within relative error α of the true order statistic of that rank. Counts are
/// integers, so merging is exact and order-free; the number of buckets grows with log(max/min) of the
/// data, not with the number of values.
///
/// Stated error: α = 0.1 % relative for |x| ≥ `minimumMagnitude` (1e-9); smaller magnitudes are counted
/// as 0. Quantiles are then clamped to the exact [min, max].
public struct QuantileSketch: Sendable, Equatable {
    public static let relativeAccuracy = 0.001
    public static let minimumMagnitude = 1e-9
    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    static let logGamma = log(gamma)

    public private(set) var positive = BucketStore()
    public private(set) var negative = BucketStore()
    public private(set) var zeros: UInt64 = 0

    public init() {}

    public init(positive: BucketStore, negative: BucketStore, zeros: UInt64) {
        self.positive = positive
        self.negative = negative
        self.zeros = zeros
    }

    public var count: UInt64 { positive.total + negative.total + zeros }

    static func index(_ magnitude: Double) -> Int { Int(ceil(log(magnitude) / logGamma)) }
    static func representative(_ index: Int) -> Double { 2 * pow(gamma, Double(index)) / (gamma + 1) }

    public mutating func add(_ x: Double) {
        let m = abs(x)
        if m < Self.minimumMagnitude { zeros += 1; return }
        if x > 0 { positive.add(Self.index(m), 1) } else { negative.add(Self.index(m), 1) }
    }

    public mutating func merge(_ other: QuantileSketch) {
        positive.merge(other.positive)
        negative.merge(other.negative)
        zeros += other.zeros
    }

    /// The value of rank ⌊q·(n−1)⌋ (0-based, ascending), approximately; nil when empty.
    public func quantile(_ q: Double) -> Double? {
        let n = count
        guard n > 0 else { return nil }
        var rank = UInt64((q * Double(n - 1)).rounded(.down))
        // Negative values ascend from the largest magnitude to the smallest.
        if rank < negative.total {
            for (i, c) in negative.descending() {
                if rank < c { return -Self.representative(i) }
                rank -= c
            }
        }
        rank -= negative.total
        if rank < zeros { return 0 }
        rank -= zeros
        for (i, c) in positive.ascending() {
            if rank < c { return Self.representative(i) }
            rank -= c
        }
        return nil
    }

    /// Fraction of values at or below `x` by bucket (used by the baseline test).
    public func cumulative(atBucketOf x: Double) -> UInt64 {
        var below: UInt64 = 0
        if x < 0 {
            let k = Self.index(max(-x, Self.minimumMagnitude))
            for (i, c) in negative.ascending() where i >= k { below += c }
            return below
        }
        below = negative.total + zeros
        if x < Self.minimumMagnitude { return below }
        let k = Self.index(x)
        for (i, c) in positive.ascending() where i <= k { below += c }
        return below
    }

    /// Every (representative value, count), ascending: the sketch as a weighted sample.
    public func weightedValues() -> [(value: Double, count: UInt64)] {
        var out: [(Double, UInt64)] = negative.descending().map { (-Self.representative($0.0), $0.1) }
        if zeros > 0 { out.append((0, zeros)) }
        out += positive.ascending().map { (Self.representative($0.0), $0.1) }
        return out
    }
}

/// Dense counts over a contiguous range of bucket indices.
public struct BucketStore: Sendable, Equatable {
    public private(set) var offset = 0
    public private(set) var counts: [UInt64] = []
    public private(set) var total: UInt64 = 0

    public init() {}

    mutating func add(_ index: Int, _ c: UInt64) {
        if counts.isEmpty {
            offset = index
            counts = [0]
        } else if index < offset {
            counts.insert(contentsOf: [UInt64](repeating: 0, count: offset - index), at: 0)
            offset = index
        } else if index >= offset + counts.count {
            counts.append(contentsOf: [UInt64](repeating: 0, count: index - offset - counts.count + 1))
        }
        counts[index - offset] += c
        total += c
    }

    mutating func merge(_ other: BucketStore) {
        for (k, c) in other.counts.enumerated() where c > 0 { add(other.offset + k, c) }
    }

    func ascending() -> [(Int, UInt64)] { counts.enumerated().compactMap { $0.element > 0 ? (offset + $0.offset, $0.element) : nil } }
    func descending() -> [(Int, UInt64)] { ascending().reversed() }

    /// Sparse (index, count) pairs, for state files.
    public var sparse: [(index: Int, count: UInt64)] { ascending().map { (index: $0.0, count: $0.1) } }

    public init(sparse: [(index: Int, count: UInt64)]) {
        for (i, c) in sparse { add(i, c) }
    }
}

/// Streaming statistics of one quantity: count, exact sums (mean, variance), min, max and a sketch.
/// Memory is constant in the number of values; merging is exact and order-free.
public struct RunningStatistics: Sendable, Equatable {
    public private(set) var count: UInt64 = 0
    public private(set) var sum = ExactSum()
    /// Σx², exact: each square is split into its rounded value and the rounding error (an FMA gives it
    /// exactly), and both go into the sum.
    public private(set) var sumOfSquares = ExactSum()
    public private(set) var minimum = Double.infinity
    public private(set) var maximum = -Double.infinity
    public private(set) var sketch = QuantileSketch()

    public init() {}

    public init(count: UInt64, sum: ExactSum, sumOfSquares: ExactSum, minimum: Double, maximum: Double, sketch: QuantileSketch) {
        self.count = count
        self.sum = sum
        self.sumOfSquares = sumOfSquares
        self.minimum = minimum
        self.maximum = maximum
        self.sketch = sketch
    }

    public mutating func add(_ x: Double) {
        guard x.isFinite else { return }
        count += 1
        sum.add(x)
        let square = x * x
        sumOfSquares.add(square)
        sumOfSquares.add((-square).addingProduct(x, x))
        minimum = Swift.min(minimum, x)
        maximum = Swift.max(maximum, x)
        sketch.add(x)
    }

    public mutating func merge(_ other: RunningStatistics) {
        count += other.count
        sum.add(other.sum)
        sumOfSquares.add(other.sumOfSquares)
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
        sketch.merge(other.sketch)
    }

    public var mean: Double? { count > 0 ? sum.value / Double(count) : nil }

    /// Sample standard deviation (n − 1), from Σ(x − m)² = Σx² − 2m·Σx + n·m² evaluated exactly for the
    /// rounded mean m (every product split into value + FMA error), so no cancellation is lost.
    public var standardDeviation: Double? {
        guard count > 1, let m = mean else { return count == 1 ? 0 : nil }
        var s = sumOfSquares
        let n = Double(count)
        // a·b = p + e exactly, with p = a·b rounded and e = fma(a, b, −p).
        func addProduct(_ a: Double, _ b: Double, times k: Double) {
            let p = a * b
            s.add(k * p)
            s.add(k * (-p).addingProduct(a, b))
        }
        // Σx is exact but wide: its rounded value sx plus a tiny remainder r.
        let sx = sum.value
        var remainder = sum
        remainder.add(-sx)
        let r = remainder.value
        addProduct(m, sx, times: -2)
        s.add(-2 * m * r)
        // n·m² with m² = m2 + e2 exactly.
        let m2 = m * m
        addProduct(n, m2, times: 1)
        addProduct(n, (-m2).addingProduct(m, m), times: 1)
        return sqrt(Swift.max(0, s.value) / (n - 1))
    }

    public func quantile(_ q: Double) -> Double? {
        guard let v = sketch.quantile(q) else { return nil }
        return Swift.min(Swift.max(v, minimum), maximum)
    }
}
