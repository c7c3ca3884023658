import Foundation

/// The physical dimension of a unit-bearing scenario value. Each has one canonical unit: a value is
/// stored in it after parsing, and a procedure reads it in it (the unit is in the accessor's doc).
public enum UnitDimension: String, Sendable, CaseIterable, Hashable {
    case time, angle, temperature, angularSpeed, length, percent, adu, electrons, power, frequency, fluxRatio

    /// The unit values of this dimension are stored in.
    public var canonicalUnit: String {
        switch self {
        case .time: return "s"
        case .angle: return "deg"
        case .temperature: return "K"
        case .angularSpeed: return "deg/s"
        case .length: return "m"
        case .percent: return "%"
        case .adu: return "adu"
        case .electrons: return "e-"
        case .power: return "W"
        case .frequency: return "Hz"
        case .fluxRatio: return "dex/min"
        }
    }

    /// Accepted spellings: (symbol, scale, offset), canonical = value × scale + offset.
    public var units: [(symbol: String, scale: Double, offset: Double)] {
        switch self {
        case .time:
            return [("s", 1, 0), ("ms", 1e-3, 0), ("min", 60, 0), ("h", 3600, 0), ("d", 86_400, 0)]
        case .angle:
            return [("deg", 1, 0), ("arcmin", 1.0 / 60, 0), ("arcsec", 1.0 / 3600, 0), ("mas", 1.0 / 3_600_000, 0),
                    ("rad", 180 / Double.pi, 0)]
        case .temperature:
            // 273.15 K is the definition of 0 degC (SI brochure, 9th edition, 2.3.1).
            return [("K", 1, 0), ("degC", 1, 273.15)]
        case .angularSpeed:
            return [("deg/s", 1, 0), ("deg/min", 1.0 / 60, 0), ("arcsec/s", 1.0 / 3600, 0)]
        case .length:
            return [("m", 1, 0), ("km", 1000, 0), ("cm", 1e-2, 0), ("mm", 1e-3, 0), ("um", 1e-6, 0), ("nm", 1e-9, 0)]
        case .percent:
            return [("%", 1, 0)]
        case .adu:
            return [("adu", 1, 0), ("ADU", 1, 0)]
        case .electrons:
            return [("e-", 1, 0), ("ke-", 1000, 0)]
        case .power:
            return [("W", 1, 0), ("mW", 1e-3, 0), ("uW", 1e-6, 0), ("nW", 1e-9, 0)]
        case .frequency:
            return [("Hz", 1, 0), ("kHz", 1e3, 0), ("/s", 1, 0)]
        case .fluxRatio:
            return [("dex/min", 1, 0)]
        }
    }

    public var symbols: [String] { units.map(\.symbol) }
}

/// Why a text is not a quantity of the expected dimension.
public enum QuantityParseError: Error, Sendable, Equatable {
    case missingUnit
    case badNumber(String)
    case unknownUnit(String)
}

public enum QuantityParser {
    /// Parses `"<number> <unit>"`: the number must be a plain decimal (no `inf`/`nan`) followed by one unit
    /// of the dimension, with or without a space (`45 min` and `45min` are the same, as a user writes
    /// them either way). A bare number is an error: a scenario must say what unit it means. Returns the
    /// value in the canonical unit.
    public static func parse(_ text: String, _ dimension: UnitDimension) -> Result<Double, QuantityParseError> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let split = trimmed.firstIndex(where: { $0 == " " }) else {
            return Double(trimmed) != nil ? .failure(.missingUnit) : numberWithGluedUnit(trimmed, dimension)
        }
        let numberText = String(trimmed[..<split])
        let unitText = trimmed[split...].trimmingCharacters(in: .whitespaces)
        guard let number = plainNumber(numberText) else { return .failure(.badNumber(numberText)) }
        guard let unit = dimension.units.first(where: { $0.symbol == unitText }) else {
            return .failure(.unknownUnit(unitText))
        }
        return .success(number * unit.scale + unit.offset)
    }

    /// `45min`, `1e-3s`, `5ke-`: the first split where the head is a number and the tail a unit of the
    /// dimension (the exponent's `e` is tried as part of the number before it is tried as `e-`).
    static func numberWithGluedUnit(_ text: String, _ dimension: UnitDimension) -> Result<Double, QuantityParseError> {
        var tailAfterLongestNumber: String?
        for split in text.indices.dropFirst() {
            guard let number = plainNumber(String(text[..<split])) else { continue }
            let tail = String(text[split...])
            if let unit = dimension.units.first(where: { $0.symbol == tail }) { return .success(number * unit.scale + unit.offset) }
            tailAfterLongestNumber = tail
        }
        if let tail = tailAfterLongestNumber { return .failure(.unknownUnit(tail)) }
        return .failure(.badNumber(text))
    }

    /// A finite decimal number in the usual notation (`3`, `-2.5`, `1e-3`).
    public static func plainNumber(_ text: String) -> Double? {
        guard !text.isEmpty, text.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }),
              let v = Double(text), v.isFinite else { return nil }
        return v
    }

    /// Writes a canonical value back in the canonical unit, shortest round-trip digits.
    public static func format(_ value: Double, _ dimension: UnitDimension) -> String {
        "\(NumberText.shortest(value)) \(dimension.canonicalUnit)"
    }
}

/// Deterministic number text: the shortest digits that round-trip (Swift's `description`), with integral
/// values written without a trailing `.0` so that `20` reads as the user wrote it.
public enum NumberText {
    public static func shortest(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
