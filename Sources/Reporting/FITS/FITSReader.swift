import CFITSIO
import Foundation

// cfitsio's long names (fits_write_key_str ...) are C macros, which Swift does not import: the calls
// use the short names they expand to (longnam.h), e.g. ffpkys = fits_write_key_str, ffgkyn = fits_read_keyn.

/// Reads the image HDUs written by `FITSWriter` (and 2-D images from elsewhere) back into values, for tests
/// and for tools that inspect frames.
public enum FITSReader {
    /// Keywords that describe the data layout: produced from the image, not kept in `keywords`.
    static let structuralKeys: Set<String> = [
        "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "BZERO", "BSCALE", "EXTNAME",
        "LONGSTRN", "CONTINUE", "END",
    ]

    public static func read(_ path: String) throws -> FITSFile {
        var fptr: UnsafeMutablePointer<fitsfile>?
        var status: Int32 = 0
        ffdkopn(&fptr, path, READONLY, &status)
        guard status == 0, let fptr else {
            throw FITSError.cfitsio(file: path, operation: "opening", status: status, message: cfitsioMessage(status))
        }
        defer {
            var ignored: Int32 = 0
            ffclos(fptr, &ignored)
        }
        var count: Int32 = 0
        ffthdu(fptr, &count, &status)
        var images: [FITSImage] = []
        for hdu in 1...max(1, Int(count)) {
            var type: Int32 = 0
            ffmahd(fptr, Int32(hdu), &type, &status)
            if status != 0 {
                throw FITSError.cfitsio(file: path, operation: "moving to HDU \(hdu)", status: status, message: cfitsioMessage(status))
            }
            guard type == IMAGE_HDU else {
                throw FITSError.invalidImage(file: path, hdu: hdu, reason: "not an image HDU")
            }
            images.append(try readHDU(fptr, hdu: hdu, path: path))
        }
        return FITSFile(primary: images[0], extensions: Array(images.dropFirst()))
    }

    static func readHDU(_ fptr: UnsafeMutablePointer<fitsfile>, hdu: Int, path: String) throws -> FITSImage {
        var status: Int32 = 0
        func check(_ operation: String) throws {
            if status != 0 {
                throw FITSError.cfitsio(file: path, operation: "\(operation) (HDU \(hdu))", status: status,
                                        message: cfitsioMessage(status))
            }
        }
        var bitpix: Int32 = 0, naxis: Int32 = 0
        var axes = [Int](repeating: 0, count: 3)
        ffgipr(fptr, 3, &bitpix, &naxis, &axes, &status)
        try check("reading the image size")
        var equivalent: Int32 = 0
        ffgiet(fptr, &equivalent, &status)
        try check("reading the pixel type")

        var image: FITSImage
        if naxis == 0 {
            image = .headerOnly(keywords: [])
        } else {
            guard naxis == 2 else {
                throw FITSError.invalidImage(file: path, hdu: hdu, reason: "NAXIS = \(naxis); only 2-D images are read")
            }
            let n = axes[0] * axes[1]
            var anyNull: Int32 = 0
            let pixels: FITSPixels
            switch equivalent {
            case FLOAT_IMG, DOUBLE_IMG:
                var a = [Float](repeating: 0, count: n)
                ffgpv(fptr, Int32(TFLOAT), 1, Int64(n), nil, &a, &anyNull, &status)
                pixels = .float32(a)
            case SHORT_IMG, BYTE_IMG, SBYTE_IMG:
                var a = [Int16](repeating: 0, count: n)
                ffgpv(fptr, Int32(TSHORT), 1, Int64(n), nil, &a, &anyNull, &status)
                pixels = .int16(a)
            case USHORT_IMG:
                var a = [UInt16](repeating: 0, count: n)
                ffgpv(fptr, Int32(TUSHORT), 1, Int64(n), nil, &a, &anyNull, &status)
                pixels = .uint16(a)
            case LONG_IMG:
                var a = [Int32](repeating: 0, count: n)
                ffgpv(fptr, Int32(TINT), 1, Int64(n), nil, &a, &anyNull, &status)
                pixels = .int32(a)
            case ULONG_IMG:
                var a = [UInt32](repeating: 0, count: n)
                ffgpv(fptr, Int32(TUINT), 1, Int64(n), nil, &a, &anyNull, &status)
                pixels = .uint32(a)
            default:
                throw FITSError.invalidImage(file: path, hdu: hdu, reason: "pixel type \(equivalent) is not supported")
            }
            try check("reading pixels")
            image = FITSImage(width: axes[0], height: axes[1], pixels: pixels)
        }
        image.keywords = try readKeywords(fptr, hdu: hdu, path: path, name: &image.name)
        return image
    }

    /// The COMMENT cards cfitsio adds itself (to every primary header, and after LONGSTRN): not the
    /// caller's keywords.
    static func isStandardBoilerplate(_ text: String) -> Bool {
        text.hasPrefix("FITS (Flexible Image Transport System) format is defined in")
            || text.hasPrefix("and Astrophysics', volume 376, page 359")
            || text.hasPrefix("This FITS file may contain long string keyword values")
            || text.hasPrefix("continued over multiple keywords.")
            || text.hasPrefix("character at the end of each substring which is then continued")
            || text.hasPrefix("on the next keyword which has the name CONTINUE.")
            || text.hasPrefix("OGIP 1.0 long string convention")
    }

    static func readKeywords(_ fptr: UnsafeMutablePointer<fitsfile>, hdu: Int, path: String,
                             name: inout String?) throws -> [FITSKeyword] {
        var status: Int32 = 0
        var count: Int32 = 0, more: Int32 = 0
        ffghsp(fptr, &count, &more, &status)
        var keywords: [FITSKeyword] = []
        var keyBuffer = [CChar](repeating: 0, count: Int(FLEN_KEYWORD) + 1)
        var valueBuffer = [CChar](repeating: 0, count: Int(FLEN_VALUE) + 1)
        var commentBuffer = [CChar](repeating: 0, count: Int(FLEN_COMMENT) + 1)
        var cardBuffer = [CChar](repeating: 0, count: Int(FLEN_CARD) + 1)
        for k in 1...max(1, Int(count)) where count > 0 {
            ffgkyn(fptr, Int32(k), &keyBuffer, &valueBuffer, &commentBuffer, &status)
            ffgrec(fptr, Int32(k), &cardBuffer, &status)
            if status != 0 {
                throw FITSError.cfitsio(file: path, operation: "reading header card \(k) (HDU \(hdu))", status: status,
                                        message: cfitsioMessage(status))
            }
            let card = cString(cardBuffer)
            var key = cString(keyBuffer)
            let rawValue = cString(valueBuffer)
            let comment = cString(commentBuffer)
            if card.hasPrefix("HIERARCH") && !key.hasPrefix("HIERARCH") { key = "HIERARCH " + key }
            if structuralKeys.contains(key) || key.hasPrefix("NAXIS") {
                if key == "EXTNAME" { name = try stringValue(fptr, key: key, path: path, hdu: hdu) }
                continue
            }
            if key == "COMMENT" || key == "HISTORY" {
                // Commentary cards keep their text in columns 9-80.
                let text = (card.count > 8 ? String(card.dropFirst(8)) : "").trimmingCharacters(in: .init(charactersIn: " "))
                if key == "COMMENT" && isStandardBoilerplate(text) { continue }
                keywords.append(FITSKeyword(key, .string(text)))
                continue
            }
            if key.isEmpty { continue }
            var type: CChar = 0
            ffdtyp(rawValue, &type, &status)
            if status != 0 {
                throw FITSError.invalidKeyword(file: path, hdu: hdu, key: key, reason: "value \(rawValue) has no FITS type")
            }
            let value: FITSValue
            switch UInt8(bitPattern: type) {
            case UInt8(ascii: "C"):
                value = .string(try stringValue(fptr, key: key, path: path, hdu: hdu))
            case UInt8(ascii: "L"):
                value = .bool(rawValue.trimmingCharacters(in: .whitespaces) == "T")
            case UInt8(ascii: "I"):
                guard let i = Int(rawValue.trimmingCharacters(in: .whitespaces)) else {
                    throw FITSError.invalidKeyword(file: path, hdu: hdu, key: key, reason: "integer \(rawValue) out of range")
                }
                value = .integer(i)
            case UInt8(ascii: "F"):
                // FITS allows a Fortran "D" exponent.
                let text = rawValue.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "D", with: "E")
                guard let d = Double(text) else {
                    throw FITSError.invalidKeyword(file: path, hdu: hdu, key: key, reason: "cannot read \(rawValue) as a number")
                }
                value = .double(d)
            default:
                throw FITSError.invalidKeyword(file: path, hdu: hdu, key: key, reason: "value \(rawValue) is not a string, integer, real or logical")
            }
            keywords.append(FITSKeyword(key, value, comment: comment))
        }
        return keywords
    }

    /// A string value, unquoted, with doubled quotes undone and CONTINUE cards joined (cfitsio does both).
    static func stringValue(_ fptr: UnsafeMutablePointer<fitsfile>, key: String, path: String, hdu: Int) throws -> String {
        var status: Int32 = 0
        var pointer: UnsafeMutablePointer<CChar>?
        ffgkls(fptr, key, &pointer, nil, &status)
        defer { if let pointer { fffree(pointer, &status) } }
        guard status == 0, let pointer else {
            throw FITSError.cfitsio(file: path, operation: "reading string keyword \(key) (HDU \(hdu))", status: status,
                                    message: cfitsioMessage(status))
        }
        return String(cString: pointer)
    }
}
