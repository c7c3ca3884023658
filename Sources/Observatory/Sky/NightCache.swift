import Synchronization

/// Results that depend only on the night and the study's fixed inputs (Sun events, twilight windows),
/// computed once and shared by every trial and sweep point of a process, on any thread.
///
/// The values must be pure functions of their key: a value is then the same whichever trial computes it
/// first, so sharing it changes no number. Two threads asking for a missing key at once may both compute
/// it (the lock is not held while computing); they store the same value. A computation that throws stores
/// nothing. When `capacity` entries are reached the cache starts over, which bounds its memory in a
/// long-lived process (a sweep touches a few entries per night and sweep value).
public final class NightCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        precondition(capacity > 0, "a cache needs room for one entry")
        self.capacity = capacity
    }

    /// The value for `key`, computing it with `compute` when no trial has yet.
    public func value<E: Error>(for key: Key, _ compute: () throws(E) -> Value) throws(E) -> Value {
        if let v = entries.withLock({ $0[key] }) { return v }
        let v = try compute()
        entries.withLock { e in
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[key] = v
        }
        return v
    }

    /// Entries held now.
    public var count: Int { entries.withLock { $0.count } }
}

/// The last few Sun positions of one trial: a procedure asks for the position at the same instant from
/// several places (the Sun limit, the sky rate for planning, the exposure's start), and the solar position
/// algorithm (≈ 330 trigonometric calls) dominates a twilight trial. Exact: a hit returns the value that
/// the same computation returned before. Not thread-safe: a trial runs on one thread.
public final class SunPositionMemo {
    private var times: [Double]
    private var positions: [SunPosition?]
    private var next = 0

    public init(size: Int = 4) {
        precondition(size > 0, "a memo needs room for one position")
        times = [Double](repeating: .nan, count: size)
        positions = [SunPosition?](repeating: nil, count: size)
    }

    /// The position at `t`, from the memo when `t` is one of the last instants asked for.
    @inline(__always)
    public func position(at t: Double, _ compute: (Double) -> SunPosition) -> SunPosition {
        for i in times.indices where times[i] == t { return positions[i]! }
        let p = compute(t)
        times[next] = t
        positions[next] = p
        next = (next + 1) % times.count
        return p
    }
}

/// What a Sun crossing search reads: the cache key of `SunCrossingFinder.sharedCrossing`.
struct SunCrossingKey: Hashable, Sendable {
    let site: Site
    let altitudeDegrees: Double
    let direction: CrossingDirection
    let after: Double
    let searchSeconds: Double
    let scanStepSeconds: Double
    let toleranceSeconds: Double
    let deltaTSeconds: Double
}

extension SunCrossingFinder {
    static let sharedCrossings = NightCache<SunCrossingKey, Double?>()

    /// `crossing(...)`, computed once per process for each set of inputs and shared by every trial and
    /// sweep point (sunset and sunrise of a night are the same for all of them).
    public func sharedCrossing(site: Site, altitudeDegrees: Double, direction: CrossingDirection, after utcSeconds: Double,
                               searchSeconds: Double = 86_400) throws(SkyError) -> Double? {
        let key = SunCrossingKey(site: site, altitudeDegrees: altitudeDegrees, direction: direction, after: utcSeconds,
                                 searchSeconds: searchSeconds, scanStepSeconds: scanStepSeconds,
                                 toleranceSeconds: toleranceSeconds, deltaTSeconds: algorithm.deltaTSeconds)
        return try Self.sharedCrossings.value(for: key) { () throws(SkyError) -> Double? in
            try crossing(site: site, altitudeDegrees: altitudeDegrees, direction: direction, after: utcSeconds,
                         searchSeconds: searchSeconds)
        }
    }
}
