/// One state change: at `time`, `actor` did `action`, with ordered attributes.
public struct TraceRecord: Sendable, Equatable {
    public let time: Double
    public let actor: String
    public let action: String
    public let attributes: [Attribute]

    public struct Attribute: Sendable, Equatable {
        public let key: String
        public let value: String
    }

    public func attribute(_ key: String) -> String? { attributes.first { $0.key == key }?.value }
}

/// An opt-in, in-memory log of a trial's state changes, in the order they happened. Off in Monte Carlo
/// runs unless asked for; it feeds `obsim trace`, the Gantt timeline and the event fingerprint of timing
/// baselines.
public final class Trace {
    public private(set) var records: [TraceRecord] = []

    public init() {}

    public func record(_ time: Double, _ actor: String, _ action: String, _ attributes: KeyValuePairs<String, String>) {
        records.append(TraceRecord(time: time, actor: actor, action: action,
                                   attributes: attributes.map { TraceRecord.Attribute(key: $0.key, value: $0.value) }))
    }

    public func record(_ time: Double, _ actor: String, _ action: String, _ attributes: [String: String]) {
        let sorted = attributes.sorted { $0.key < $1.key }
        records.append(TraceRecord(time: time, actor: actor, action: action,
                                   attributes: sorted.map { TraceRecord.Attribute(key: $0.key, value: $0.value) }))
    }

    /// A 64-bit FNV-1a digest of the records (time bit patterns, actors, actions, attributes): equal
    /// digests mean the same event sequence.
    public func fingerprint(limit: Int = .max) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        func mix(_ s: String) { for b in s.utf8 { mix(b) }; mix(0) }
        for r in records.prefix(limit) {
            var t = r.time.bitPattern
            for _ in 0..<8 { mix(UInt8(truncatingIfNeeded: t)); t >>= 8 }
            mix(r.actor); mix(r.action)
            for a in r.attributes { mix(a.key); mix(a.value) }
        }
        return h
    }
}
