/// One header keyword of a simulated frame: a plain key/value/comment triple, in the order it was set.
/// FITS writing happens in Reporting; this module only decides what the header says.
public struct HeaderCard: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case int(Int)
        case double(Double)
        case bool(Bool)
    }
    public var key: String
    public var value: Value
    public var comment: String

    public init(_ key: String, _ value: Value, _ comment: String = "") {
        self.key = key
        self.value = value
        self.comment = comment
    }
    public init(_ key: String, _ value: String, _ comment: String = "") { self.init(key, .string(value), comment) }
    public init(_ key: String, _ value: Double, _ comment: String = "") { self.init(key, .double(value), comment) }
    public init(_ key: String, _ value: Int, _ comment: String = "") { self.init(key, .int(value), comment) }
}

/// An ordered list of header cards with at most one card per key (ESO hierarchical keys such as
/// `DPR CATG` or `INS OPTI3 NAME` are plain keys here).
public struct FrameHeader: Sendable, Equatable {
    public private(set) var cards: [HeaderCard] = []

    public init(_ cards: [HeaderCard] = []) {
        for c in cards { set(c) }
    }

    /// Replaces the card with the same key in place (keeping its position), or appends it.
    public mutating func set(_ card: HeaderCard) {
        if let i = cards.firstIndex(where: { $0.key == card.key }) { cards[i] = card } else { cards.append(card) }
    }

    public mutating func set(_ key: String, _ value: HeaderCard.Value, _ comment: String = "") {
        set(HeaderCard(key, value, comment))
    }

    public subscript(key: String) -> HeaderCard.Value? { cards.first { $0.key == key }?.value }

    public func double(_ key: String) -> Double? {
        switch self[key] {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }

    public func string(_ key: String) -> String? {
        if case .string(let s) = self[key] { return s }
        return nil
    }
}
