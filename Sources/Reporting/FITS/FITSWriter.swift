import CFITSIO
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// cfitsio's long names (fits_write_key_str ...) are C macros, which Swift does not import: the calls
// use the short names they expand to (longnam.h), e.g. ffpkys = fits_write_key_str, ffgkyn = fits_read_keyn.

/// The cfitsio status text and error stack for `status`, as one line.
func cfitsioMessage(_ status: Int32) -> String {
    var text = [CChar](repeating: 0, count: Int(FLEN_STATUS) + 1)
    ffgerr(status, &text)
    var message = cString(text)
    var stack: [String] = []
    var line = [CChar](repeating: 0, count: Int(FLEN_ERRMSG) + 1)
    while ffgmsg(&line) != 0 {
        stack.append(cString(line).trimmingCharacters(in: .whitespaces))
    }
    if !stack.isEmpty { message += " (" + stack.joined(separator: "; ") + ")" }
    return message
}

/// Writes FITS files through cfitsio. A file is written to a temporary name in the target folder and
/// renamed into place, so a reader never sees a half-written frame and a failed write leaves any previous
/// file untouched.
public enum FITSWriter {
    public static func write(_ file: FITSFile, to path: String) throws {
        try validate(file, path: path)
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

        var fptr: UnsafeMutablePointer<fitsfile>?
        var status: Int32 = 0
        // The disk-file variant takes the name literally: no "!", "[ext]" or URL-style interpretation.
        ffdkinit(&fptr, temporary, &status)
        guard status == 0, let fptr else {
            throw FITSError.cfitsio(file: path, operation: "creating \(temporary)", status: status, message: cfitsioMessage(status))
        }
        do {
            try writeHDU(file.primary, hdu: 1, into: fptr, path: path)
            for (i, ext) in file.extensions.enumerated() {
                try writeHDU(ext, hdu: i + 2, into: fptr, path: path)
            }
        } catch {
            var ignored: Int32 = 0
            ffclos(fptr, &ignored)
            unlink(temporary)
            throw error
        }
        ffclos(fptr, &status)
        if status != 0 {
            unlink(temporary)
            throw FITSError.cfitsio(file: path, operation: "closing", status: status, message: cfitsioMessage(status))
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FITSError.io(file: path, reason: "cannot rename the temporary file into place: \(reason)")
        }
    }

    static func validate(_ file: FITSFile, path: String) throws {
        for (i, image) in ([file.primary] + file.extensions).enumerated() {
            if let pixels = image.pixels {
                guard image.width > 0, image.height > 0 else {
                    throw FITSError.invalidImage(file: path, hdu: i + 1, reason: "image size \(image.width)×\(image.height) must be positive")
                }
                guard pixels.count == image.width * image.height else {
                    throw FITSError.invalidImage(file: path, hdu: i + 1,
                                                 reason: "\(pixels.count) pixels given for a \(image.width)×\(image.height) image")
                }
            } else if i > 0 {
                throw FITSError.invalidImage(file: path, hdu: i + 1, reason: "an image extension needs pixels")
            }
            for keyword in image.keywords {
                if let problem = keyword.problem() {
                    throw FITSError.invalidKeyword(file: path, hdu: i + 1, key: keyword.key, reason: problem)
                }
                if FITSReader.structuralKeys.contains(keyword.normalizedKey) || keyword.normalizedKey.hasPrefix("NAXIS") {
                    throw FITSError.invalidKeyword(file: path, hdu: i + 1, key: keyword.key,
                                                   reason: "structural keywords are written from the image itself")
                }
            }
        }
    }

    static func writeHDU(_ image: FITSImage, hdu: Int, into fptr: UnsafeMutablePointer<fitsfile>, path: String) throws {
        var status: Int32 = 0
        func check(_ operation: String) throws {
            if status != 0 {
                throw FITSError.cfitsio(file: path, operation: "\(operation) (HDU \(hdu))", status: status,
                                        message: cfitsioMessage(status))
            }
        }
        var axes: [Int] = [image.width, image.height]
        let bitpix: Int32
        switch image.pixels {
        case nil: bitpix = 8
        case .float32: bitpix = FLOAT_IMG
        case .int16: bitpix = SHORT_IMG
        case .uint16: bitpix = USHORT_IMG
        case .int32: bitpix = LONG_IMG
        case .uint32: bitpix = ULONG_IMG
        }
        ffcrim(fptr, bitpix, image.pixels == nil ? 0 : 2, &axes, &status)
        try check("creating the image")

        if let name = image.name {
            ffpkys(fptr, "EXTNAME", name, "extension name", &status)
            try check("writing EXTNAME")
        }
        for keyword in image.keywords {
            try writeKeyword(keyword, fptr: fptr, status: &status, path: path, hdu: hdu)
            try check("writing keyword \(keyword.normalizedKey)")
        }

        guard let pixels = image.pixels else { return }
        let n = Int64(pixels.count)
        switch pixels {
        case .float32(var a): ffppr(fptr, Int32(TFLOAT), 1, n, &a, &status)
        case .int16(var a): ffppr(fptr, Int32(TSHORT), 1, n, &a, &status)
        case .uint16(var a): ffppr(fptr, Int32(TUSHORT), 1, n, &a, &status)
        case .int32(var a): ffppr(fptr, Int32(TINT), 1, n, &a, &status)
        case .uint32(var a): ffppr(fptr, Int32(TUINT), 1, n, &a, &status)
        }
        try check("writing pixels")
    }

    static func writeKeyword(_ keyword: FITSKeyword, fptr: UnsafeMutablePointer<fitsfile>, status: inout Int32, path: String,
                             hdu: Int) throws {
        let key = keyword.normalizedKey
        let comment: String? = keyword.comment.isEmpty ? nil : keyword.comment
        switch keyword.value {
        case .string(let s) where key == "COMMENT":
            ffpcom(fptr, s, &status)
        case .string(let s) where key == "HISTORY":
            ffphis(fptr, s, &status)
        case .string(let s):
            // cfitsio doubles embedded quotes (L' becomes 'L''') and uses the CONTINUE convention for
            // values longer than one card. Trailing blanks are not significant in FITS strings (FITS 4.0,
            // section 4.2.1.1) and do not come back.
            if s.count > 60 {
                ffplsw(fptr, &status)
                ffpkls(fptr, key, s, comment, &status)
            } else {
                ffpkys(fptr, key, s, comment, &status)
            }
            // cfitsio cuts a HIERARCH card's string value at column 80 without an error (checked with cfitsio
            // 4.2): read it back so a truncated value fails loudly instead of going to the archive.
            if status == 0 {
                var pointer: UnsafeMutablePointer<CChar>?
                ffgkls(fptr, key, &pointer, nil, &status)
                let written = pointer.map { String(cString: $0) }
                if let pointer { fffree(pointer, &status) }
                let expected = String(s.reversed().drop { $0 == " " }.reversed())
                if status == 0 && written != expected {
                    throw FITSError.invalidKeyword(file: path, hdu: hdu, key: key,
                                                   reason: "value of \(s.count) characters does not fit one HIERARCH card (80 columns)")
                }
            }
        case .integer(let i):
            ffpkyj(fptr, key, Int64(i), comment, &status)
        case .double(let v):
            ffpkyd(fptr, key, v, -significantDigits(v), comment, &status)
        case .bool(let b):
            ffpkyl(fptr, key, b ? 1 : 0, comment, &status)
        }
    }

    /// The fewest significant digits (15 to 17) that read back as exactly `value`: 0.1 stays "0.1" in the
    /// header, and every double round-trips.
    static func significantDigits(_ value: Double) -> Int32 {
        for digits in 15...16 where Double(String(format: "%.\(digits)G", value)) == value {
            return Int32(digits)
        }
        return 17
    }
}

/// A NUL-terminated C buffer as a String.
func cString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
