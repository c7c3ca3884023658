import Foundation

/// A JSON value written deterministically: object keys sorted, doubles in their shortest round-trip
/// form, non-finite doubles as null, two-space indentation. Same value, same bytes, on every host.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static func number(_ d: Double?) -> JSONValue { d.map { .double($0) } ?? .null }

    public func text() -> String { String(decoding: bytes(), as: UTF8.self) }

    /// The UTF-8 bytes of `text()`. Written into a byte array: a state file is ~10⁶ small pieces, and
    /// appending each to a String cost ~350 instructions apiece.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        write(into: &out, indent: 0)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    func write(into out: inout [UInt8], indent: Int) {
        // The padding is built only for containers: a state file is mostly scalars.
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i):
            if i < 0 { out.append(UInt8(ascii: "-")) }
            Self.decimal(i.magnitude, into: &out)
        case .uint(let u): Self.decimal(u, into: &out)
        case .double(let d): out.append(contentsOf: (d.isFinite ? d.description : "null").utf8)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { out.append(contentsOf: "[]".utf8); return }
            if items.allSatisfy({ $0.isScalar }) {
                out.append(UInt8(ascii: "["))
                for (i, v) in items.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: " ")) }
                    v.write(into: &out, indent: indent)
                }
                out.append(UInt8(ascii: "]"))
                return
            }
            out.append(contentsOf: "[\n".utf8)
            for (i, v) in items.enumerated() {
                Self.pad(&out, indent + 1)
                v.write(into: &out, indent: indent + 1)
                out.append(contentsOf: (i + 1 < items.count ? ",\n" : "\n").utf8)
            }
            Self.pad(&out, indent)
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            if fields.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(contentsOf: "{\n".utf8)
            // Sorted as pairs: looking each sorted key up again hashed every key of every object.
            let entries = fields.sorted { $0.key < $1.key }
            for (i, entry) in entries.enumerated() {
                Self.pad(&out, indent + 1)
                Self.quote(entry.key, into: &out)
                out.append(UInt8(ascii: ":")); out.append(UInt8(ascii: " "))
                entry.value.write(into: &out, indent: indent + 1)
                out.append(contentsOf: (i + 1 < entries.count ? ",\n" : "\n").utf8)
            }
            Self.pad(&out, indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The digits `String(u)` spells, without the String: a state file's bucket tables are ~10⁵ integers.
    static func decimal(_ u: UInt64, into out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var n = u, i = 20
            repeat {
                i -= 1
                digits[i] = UInt8(ascii: "0") &+ UInt8(n % 10)
                n /= 10
            } while n > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }

    private static let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 32)

    static func pad(_ out: inout [UInt8], _ indent: Int) {
        var n = 2 * indent
        while n > 0 {
            let k = min(n, spaces.count)
            out.append(contentsOf: spaces[0..<k])
            n -= k
        }
    }

    var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    /// Appends `s` quoted, escaping on the UTF-8 bytes (every byte of a multi-byte scalar is ≥ 0x80).
    static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            // Nearly every key and value needs no escape: copied in one piece, not byte by byte.
            guard bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                out.append(contentsOf: bytes)
                return
            }
            for b in bytes {
                switch b {
                case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
                case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
                case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
                default: out.append(b) // UTF-8 bytes ≥ 0x20 are copied as they are, multi-byte scalars included
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Parses JSON text (for state and baseline files this program wrote). Integers stay exact; doubles
    /// that must round-trip bit for bit are stored as hexadecimal bit patterns by their writers.
    public static func parse(_ data: Data) throws -> JSONValue {
        let any = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        return convert(any)
    }

    static func convert(_ any: Any) -> JSONValue {
        switch any {
        case let d as [String: Any]: return .object(d.mapValues(convert))
        case let a as [Any]: return .array(a.map(convert))
        case let s as String: return .string(s)
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            if let i = Int64(exactly: n) { return .int(i) }
            if let u = UInt64(exactly: n) { return .uint(u) }
            return .double(n.doubleValue)
        default: return .null
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var int64Value: Int64? {
        switch self {
        case .int(let i): return i
        case .uint(let u): return Int64(exactly: u)
        case .double(let d): return Int64(exactly: d)
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .uint(let u): return Double(u)
        case .double(let d): return d
        default: return nil
        }
    }
}
