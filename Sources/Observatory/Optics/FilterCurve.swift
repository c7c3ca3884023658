import CGSL

/// A filter's measured transmission curve T(λ), tabulated, linearly interpolated by GSL (`gsl_interp_linear`:
/// the METIS curves are sampled every 1 nm, finer than any feature) and zero outside the tabulated range.
///
/// Band integrals ∫T(λ)·f(λ)dλ use `gsl_integration_qagp` with every tabulation node as a break point, so
/// each sub-interval's integrand is smooth (a straight line times f) and Gauss–Kronrod converges on it.
public struct FilterCurve: Sendable, Equatable {
    /// The IRDB file the curve comes from (under METIS/ of AstarVienna/irdb, commit `IRDBTables.commit`).
    public let source: String
    public let wavelengthsMicrons: [Double]
    public let transmissions: [Double]

    public init(source: String, wavelengthsMicrons: [Double], transmissions: [Double]) {
        precondition(wavelengthsMicrons.count == transmissions.count && wavelengthsMicrons.count >= 2)
        self.source = source; self.wavelengthsMicrons = wavelengthsMicrons; self.transmissions = transmissions
    }

    /// Parses an IRDB `TC_filter_*.dat` table: `#` header lines, a `wavelength transmission` title line, then
    /// two columns (µm, transmission as a fraction).
    public static func irdb(_ file: String) -> FilterCurve {
        guard let text = IRDBTables.files[file] else { preconditionFailure("no IRDB table \(file)") }
        var w: [Double] = [], t: [Double] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let cols = line.split(separator: " ", omittingEmptySubsequences: true)
            guard cols.count >= 2, let l = Double(cols[0]), let v = Double(cols[1]) else { continue }
            w.append(l); t.append(v)
        }
        return FilterCurve(source: "AstarVienna/irdb@\(IRDBTables.commit):METIS/\(file)", wavelengthsMicrons: w, transmissions: t)
    }

    public var lowestMicrons: Double { wavelengthsMicrons[0] }
    public var highestMicrons: Double { wavelengthsMicrons[wavelengthsMicrons.count - 1] }
    public var peakTransmission: Double { transmissions.max() ?? 0 }

    /// T(λ), GSL linear interpolation; 0 outside the table.
    public func transmission(atMicrons lam: Double) -> Double {
        guard lam >= lowestMicrons, lam <= highestMicrons else { return 0 }
        return wavelengthsMicrons.withUnsafeBufferPointer { x in
            transmissions.withUnsafeBufferPointer { y in
                let i = interpolator(x, y)
                defer { gsl_interp_free(i) }
                return gsl_interp_eval(i, x.baseAddress, y.baseAddress, lam, nil)
            }
        }
    }

    /// The blue and red wavelengths where T falls to half its peak (the outermost crossings), by linear
    /// interpolation between the bracketing nodes.
    public var halfMaximumMicrons: (low: Double, high: Double) {
        let half = peakTransmission / 2
        let first = transmissions.firstIndex { $0 >= half }!, last = transmissions.lastIndex { $0 >= half }!
        func cross(_ i: Int, _ j: Int) -> Double {
            let (x0, y0, x1, y1) = (wavelengthsMicrons[i], transmissions[i], wavelengthsMicrons[j], transmissions[j])
            return x0 + (half - y0) * (x1 - x0) / (y1 - y0)
        }
        return (first == 0 ? lowestMicrons : cross(first - 1, first),
                last == transmissions.count - 1 ? highestMicrons : cross(last, last + 1))
    }

    /// Mean transmission over [a, b]: ∫T dλ / (b − a).
    public func meanTransmission(fromMicrons a: Double, toMicrons b: Double) -> Double {
        integral(fromMicrons: a, toMicrons: b) { _ in 1 } / (b - a)
    }

    /// ∫ T(λ)·f(λ) dλ over the curve (λ in µm), QAGP with the nodes as break points, relative error 10⁻¹⁰.
    public func integral(_ f: (Double) -> Double) -> Double {
        integral(fromMicrons: lowestMicrons, toMicrons: highestMicrons, f)
    }

    /// ∫ T(λ)·f(λ) dλ over [a, b] ∩ the table.
    public func integral(fromMicrons a: Double, toMicrons b: Double, _ f: (Double) -> Double) -> Double {
        let lo = max(a, lowestMicrons), hi = min(b, highestMicrons)
        guard hi > lo else { return 0 }
        var points = [lo] + wavelengthsMicrons.filter { $0 > lo && $0 < hi } + [hi]
        let limit = points.count + 1000
        guard let w = gsl_integration_workspace_alloc(limit) else { return .nan }
        defer { gsl_integration_workspace_free(w) }
        return wavelengthsMicrons.withUnsafeBufferPointer { x in
            transmissions.withUnsafeBufferPointer { y in
                withoutActuallyEscaping(f) { f in
                    var context = Context(interp: interpolator(x, y), x: x.baseAddress!, y: y.baseAddress!, f: f)
                    var result = 0.0, error = 0.0
                    _ = withUnsafeMutablePointer(to: &context) { cp -> Int32 in
                        var fn = gsl_function(function: { lam, p in
                            let c = p!.assumingMemoryBound(to: Context.self).pointee
                            return gsl_interp_eval(c.interp, c.x, c.y, lam, nil) * c.f(lam)
                        }, params: UnsafeMutableRawPointer(cp))
                        return gsl_integration_qagp(&fn, &points, points.count, 0, 1e-10, limit, w, &result, &error)
                    }
                    gsl_interp_free(context.interp)
                    return result
                }
            }
        }
    }

    private struct Context {
        let interp: UnsafeMutablePointer<gsl_interp>
        let x: UnsafePointer<Double>
        let y: UnsafePointer<Double>
        let f: (Double) -> Double
    }

    /// A linear interpolator over the table; the caller frees it.
    private func interpolator(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>) -> UnsafeMutablePointer<gsl_interp> {
        let i = gsl_interp_alloc(cgsl_interp_linear(), x.count)!
        gsl_interp_init(i, x.baseAddress, y.baseAddress, x.count)
        return i
    }
}
