import Foundation

/// A header keyword's value, in the four FITS types a calibration frame's header needs.
public enum FITSValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case double(Double)
    case bool(Bool)
}

/// One header card: `key` is either a standard keyword (at most 8 characters of A–Z, 0–9, `-`, `_`, such
/// as `IMGTYPE`, `EXPTIME`, `DATE-OBS`) or an ESO hierarchical keyword, written as `HIERARCH ESO DPR CATG`
/// or just `ESO DPR CATG` (both mean the same card). `COMMENT` and `HISTORY` take a string value and no
/// comment.
public struct FITSKeyword: Sendable, Equatable {
    public var key: String
    public var value: FITSValue
    public var comment: String

    public init(_ key: String, _ value: FITSValue, comment: String = "") {
        self.key = key
        self.value = value
        self.comment = comment
    }

    /// The key as written in the file: hierarchical keys always carry the `HIERARCH ` prefix.
    public var normalizedKey: String { Self.normalize(key) }

    static func normalize(_ key: String) -> String {
        let trimmed = key.trimmingCharacters(in: .whitespaces)
        let collapsed = trimmed.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        if collapsed.hasPrefix("HIERARCH ") { return collapsed }
        if collapsed.count > 8 || collapsed.contains(" ") { return "HIERARCH " + collapsed }
        return collapsed
    }

    /// Whether the key can be written as given; nil when it can, else why not.
    func problem() -> String? {
        let key = normalizedKey
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        if key.isEmpty { return "the key is empty" }
        if key.hasPrefix("HIERARCH ") {
            let words = key.dropFirst("HIERARCH ".count).split(separator: " ")
            if words.isEmpty { return "a HIERARCH key needs at least one word after HIERARCH" }
            if let bad = words.first(where: { !$0.allSatisfy(allowed.contains) }) {
                return "word '\(bad)' of a HIERARCH key may use only A-Z, 0-9, '-' and '_' (upper case)"
            }
        } else if !key.allSatisfy(allowed.contains) {
            return "a standard key may use only A-Z, 0-9, '-' and '_' (upper case), at most 8 characters"
        }
        if case .double(let v) = value, !v.isFinite { return "a header value must be finite (got \(v))" }
        if case .string(let s) = value, s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value > 0x7E }) {
            return "FITS header text must be printable ASCII"
        }
        if key == "COMMENT" || key == "HISTORY" {
            guard case .string = value else { return "\(key) takes a string value" }
        }
        return nil
    }
}

/// Pixel data of one image, in the FITS storage type it will be written with. Unsigned types are stored as
/// signed integers with BZERO = 32768 (16-bit) or 2147483648 (32-bit), the FITS convention for unsigned
/// data (raw detector ADU are usually UInt16).
public enum FITSPixels: Sendable, Equatable {
    case float32([Float])
    case int16([Int16])
    case uint16([UInt16])
    case int32([Int32])
    case uint32([UInt32])

    public var count: Int {
        switch self {
        case .float32(let a): return a.count
        case .int16(let a): return a.count
        case .uint16(let a): return a.count
        case .int32(let a): return a.count
        case .uint32(let a): return a.count
        }
    }
}

/// One HDU: a 2-D image (or no data, for a header-only primary HDU) and its keywords in order.
/// Pixels are row-major from the first FITS pixel (1,1): `pixels[(y - 1) * width + (x - 1)]`.
public struct FITSImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: FITSPixels?
    public var keywords: [FITSKeyword]
    /// EXTNAME of an extension (e.g. the amplifier "C10"); nil for the primary HDU.
    public var name: String?

    public init(width: Int, height: Int, pixels: FITSPixels, keywords: [FITSKeyword] = [], name: String? = nil) {
        self.width = width
        self.height = height
        self.pixels = pixels
        self.keywords = keywords
        self.name = name
    }

    /// A header without data: the primary HDU of a multi-extension file (one extension per amplifier).
    public static func headerOnly(keywords: [FITSKeyword]) -> FITSImage {
        var image = FITSImage(width: 0, height: 0, pixels: .float32([]), keywords: keywords)
        image.pixels = nil
        return image
    }

    /// The value of a keyword, looked up with or without the HIERARCH prefix.
    public subscript(key: String) -> FITSValue? {
        let k = FITSKeyword.normalize(key)
        return keywords.first { $0.normalizedKey == k }?.value
    }
}

/// A FITS file: the primary HDU and any image extensions, in order.
public struct FITSFile: Sendable, Equatable {
    public var primary: FITSImage
    public var extensions: [FITSImage]
    public init(primary: FITSImage, extensions: [FITSImage] = []) {
        self.primary = primary
        self.extensions = extensions
    }
}

public enum FITSError: Error, Equatable, CustomStringConvertible {
    /// cfitsio reported `status` while doing `operation` on `file`; `message` is its status text and
    /// error-stack messages.
    case cfitsio(file: String, operation: String, status: Int32, message: String)
    case invalidImage(file: String, hdu: Int, reason: String)
    case invalidKeyword(file: String, hdu: Int, key: String, reason: String)
    case io(file: String, reason: String)

    public var description: String {
        switch self {
        case .cfitsio(let file, let operation, let status, let message):
            return "\(file): cfitsio error \(status) while \(operation): \(message)"
        case .invalidImage(let file, let hdu, let reason):
            return "\(file): HDU \(hdu): \(reason)"
        case .invalidKeyword(let file, let hdu, let key, let reason):
            return "\(file): HDU \(hdu): keyword '\(key)': \(reason)"
        case .io(let file, let reason):
            return "\(file): \(reason)"
        }
    }
}
