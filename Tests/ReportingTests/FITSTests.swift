import Foundation
import Testing
@testable import Reporting

/// A METIS-style frame: ESO hierarchical keywords (DPR, DET, INS OPTn), a filter name with a quote (L'),
/// values of every type, and a pixel ramp whose every value is distinct, so a transposition or an offset
/// in the round trip cannot go unseen.
func metisFrame(width: Int = 7, height: Int = 5) -> FITSFile {
    let keywords: [FITSKeyword] = [
        FITSKeyword("INSTRUME", .string("METIS"), comment: "instrument"),
        FITSKeyword("HIERARCH ESO DPR CATG", .string("CALIB"), comment: "data product category"),
        FITSKeyword("ESO DPR TYPE", .string("FLAT,LAMP"), comment: "written without the HIERARCH prefix"),
        FITSKeyword("HIERARCH ESO DPR TECH", .string("IMAGE,LM")),
        FITSKeyword("HIERARCH ESO DET DIT", .double(0.1), comment: "[s] detector integration time"),
        FITSKeyword("HIERARCH ESO DET NDIT", .integer(12), comment: "number of DITs"),
        FITSKeyword("HIERARCH ESO INS OPT1 NAME", .string("L'"), comment: "science filter"),
        FITSKeyword("HIERARCH ESO INS OPT2 NAME", .string("CO(1-0)/ice")),
        FITSKeyword("OBJECT", .string("it's a 'quoted' flat")),
        FITSKeyword("EXPTIME", .double(1.2000000000000002), comment: "needs 17 digits to round-trip"),
        FITSKeyword("SIMULATD", .bool(true)),
        FITSKeyword("SATURATD", .bool(false)),
        FITSKeyword("TEMPK", .double(-273.15)),
        FITSKeyword("BIGINT", .integer(9_007_199_254_740_993)),
        FITSKeyword("HISTORY", .string("written by obsim")),
    ]
    let n = width * height
    let ramp = (0..<n).map { Float($0) * 1.5 - 3.25 }
    let amp1 = (0..<n).map { UInt16(65535 - $0 * 97) }
    let amp2 = (0..<n).map { Int16($0 * 31 - 500) }
    let amp3 = (0..<n).map { Int32($0 * 1_000_003 - 7) }
    let amp4 = (0..<n).map { UInt32(4_294_967_295 - UInt32($0)) }
    return FITSFile(
        primary: FITSImage(width: width, height: height, pixels: .float32(ramp), keywords: keywords),
        extensions: [
            FITSImage(width: width, height: height, pixels: .uint16(amp1), keywords: [FITSKeyword("GAIN", .double(1.1))], name: "C10"),
            FITSImage(width: width, height: height, pixels: .int16(amp2), name: "C11"),
            FITSImage(width: width, height: height, pixels: .int32(amp3), name: "C12"),
            FITSImage(width: width, height: height, pixels: .uint32(amp4), name: "C13"),
        ])
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "obsim-fits-\(UInt64.random(in: 0...UInt64.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The raw 80-character cards of the primary header.
func headerCards(_ path: String) throws -> [String] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let text = String(decoding: data.prefix(2880 * 4), as: UTF8.self)
    var cards: [String] = []
    var index = text.startIndex
    while index < text.endIndex {
        let end = text.index(index, offsetBy: 80, limitedBy: text.endIndex) ?? text.endIndex
        let card = String(text[index..<end])
        cards.append(card)
        if card.hasPrefix("END ") { break }
        index = end
    }
    return cards
}

@Suite("FITS writer and reader")
struct FITSTests {
    @Test func roundTripKeepsEveryPixelAndKeyword() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/frame.fits"
        let frame = metisFrame()
        try FITSWriter.write(frame, to: path)
        // tools/check_fits.py opens this same frame with astropy and fitsverify, outside the build.
        if let keep = ProcessInfo.processInfo.environment["OBSIM_FITS_SAMPLE"] {
            try FITSWriter.write(frame, to: keep)
        }
        let back = try FITSReader.read(path)

        #expect(back.primary.pixels == frame.primary.pixels)
        #expect(back.extensions.map(\.pixels) == frame.extensions.map(\.pixels))
        #expect(back.extensions.map(\.name) == ["C10", "C11", "C12", "C13"])
        #expect(back.primary.width == 7 && back.primary.height == 5)
        // Keys come back normalized (HIERARCH prefix always present); values and comments exactly.
        let expected = frame.primary.keywords.map { FITSKeyword($0.normalizedKey, $0.value, comment: $0.comment) }
        #expect(back.primary.keywords == expected)
        #expect(back.extensions[0].keywords == [FITSKeyword("GAIN", .double(1.1))])
        #expect(back.primary["ESO DPR CATG"] == .string("CALIB"))
        #expect(back.primary["HIERARCH ESO INS OPT1 NAME"] == .string("L'"))
    }

    @Test func cardsFollowTheHierarchAndQuoteConventions() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/frame.fits"
        try FITSWriter.write(metisFrame(), to: path)
        let cards = try headerCards(path)
        // ESO convention (ESO-044156, "Data Interface Control Document"): "HIERARCH ESO ... = value".
        // cfitsio pads short strings to 8 characters, as the FITS standard recommends.
        #expect(cards.contains { $0.hasPrefix("HIERARCH ESO DPR CATG = 'CALIB   ' / data product category") })
        // Written without the prefix, the key still becomes a HIERARCH card.
        #expect(cards.contains { $0.hasPrefix("HIERARCH ESO DPR TYPE = 'FLAT,LAMP'") })
        #expect(cards.contains { $0.hasPrefix("HIERARCH ESO DET NDIT =     12 / number of DITs") })
        // A quote inside a FITS string is doubled (FITS 4.0 standard, section 4.2.1.1).
        #expect(cards.contains { $0.hasPrefix("HIERARCH ESO INS OPT1 NAME = 'L''     ' / science filter") })
        #expect(cards.contains { $0.hasPrefix("OBJECT  = 'it''s a ''quoted'' flat'") })
        #expect(cards.contains { $0.hasPrefix("HIERARCH ESO DET DIT =     0.1 / [s] detector integration time") })
        #expect(cards.contains { $0.hasPrefix("EXPTIME =   1.2000000000000002") })
        #expect(cards.allSatisfy { $0.count == 80 })
        // Unsigned 16-bit pixels are stored as signed with BZERO = 32768.
        let ext = try FITSReader.read(path).extensions[0]
        #expect(ext.pixels == metisFrame().extensions[0].pixels)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let all = String(decoding: data, as: UTF8.self)
        #expect(all.contains("BZERO   =                32768"))
    }

    @Test func rubinStyleHeaderOnlyPrimaryWithAmplifierExtensions() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/latiss.fits"
        let primary = FITSImage.headerOnly(keywords: [
            FITSKeyword("IMGTYPE", .string("FLAT")),
            FITSKeyword("EXPTIME", .double(6.0), comment: "[s]"),
            FITSKeyword("FILTER", .string("SDSSr_65mm")),
            FITSKeyword("DATE-OBS", .string("2025-03-04T23:12:09.250")),
        ])
        let amp = FITSImage(width: 3, height: 2, pixels: .uint16([0, 1, 2, 29_999, 65_534, 65_535]), name: "C00")
        try FITSWriter.write(FITSFile(primary: primary, extensions: [amp]), to: path)
        if let keep = ProcessInfo.processInfo.environment["OBSIM_FITS_SAMPLE"] {
            try FITSWriter.write(FITSFile(primary: primary, extensions: [amp]),
                                 to: keep.replacingOccurrences(of: ".fits", with: "-latiss.fits"))
        }
        let back = try FITSReader.read(path)
        #expect(back.primary.pixels == nil)
        #expect(back.primary["FILTER"] == .string("SDSSr_65mm"))
        #expect(back.primary["EXPTIME"] == .double(6.0))
        #expect(back.primary["DATE-OBS"] == .string("2025-03-04T23:12:09.250"))
        #expect(back.extensions.first?.pixels == .uint16([0, 1, 2, 29_999, 65_534, 65_535]))
    }

    @Test func longStringsUseContinueCards() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/long.fits"
        let long = String(repeating: "a 'quoted' and long value ", count: 6) + "end"
        let file = FITSFile(primary: FITSImage(width: 1, height: 1, pixels: .float32([1]),
                                               keywords: [FITSKeyword("ORIGFILE", .string(long))]))
        try FITSWriter.write(file, to: path)
        let back = try FITSReader.read(path)
        #expect(back.primary["ORIGFILE"] == .string(long))
        // The long-string convention's own LONGSTRN card and comments are not the caller's keywords.
        #expect(back.primary.keywords == [FITSKeyword("ORIGFILE", .string(long))])
    }

    @Test func aHierarchValueTooLongForItsCardIsAnErrorNotATruncation() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/long-hierarch.fits"
        let file = FITSFile(primary: FITSImage(width: 1, height: 1, pixels: .float32([1]), keywords: [
            FITSKeyword("HIERARCH ESO INS OPT1 NAME", .string("A very long filter name that will not fit in the card at all")),
        ]))
        do {
            try FITSWriter.write(file, to: path)
            Issue.record("a value cut at column 80 must not be written silently")
        } catch let FITSError.invalidKeyword(file, hdu, key, reason) {
            #expect(file == path && hdu == 1 && key == "HIERARCH ESO INS OPT1 NAME")
            #expect(reason.contains("does not fit"))
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func atomicWriteReplacesAndLeavesNoTemporaryFiles() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/frame.fits"
        try FITSWriter.write(metisFrame(), to: path)
        let replacement = FITSFile(primary: FITSImage(width: 2, height: 1, pixels: .float32([4, 5])))
        try FITSWriter.write(replacement, to: path)
        #expect(try FITSReader.read(path).primary.pixels == .float32([4, 5]))
        // A failing write leaves the previous file as it was.
        let bad = FITSFile(primary: FITSImage(width: 1, height: 1, pixels: .float32([1]),
                                              keywords: [FITSKeyword("EXPTIME", .double(.nan))]))
        #expect(throws: FITSError.self) { try FITSWriter.write(bad, to: path) }
        #expect(try FITSReader.read(path).primary.pixels == .float32([4, 5]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["frame.fits"])
    }

    @Test func errorsNameTheFileAndCarryCfitsioText() throws {
        let missing = "/nonexistent-dir-obsim/frame.fits"
        do {
            _ = try FITSReader.read(missing)
            Issue.record("reading a missing file must throw")
        } catch let error as FITSError {
            guard case .cfitsio(let file, _, let status, let message) = error else {
                Issue.record("expected a cfitsio error, got \(error)")
                return
            }
            #expect(file == missing)
            #expect(status == 104) // FILE_NOT_OPENED
            #expect(message.contains("could not open"))
            #expect(error.description.contains(missing))
        }
        let wrongSize = FITSFile(primary: FITSImage(width: 3, height: 3, pixels: .float32([1, 2])))
        #expect(throws: FITSError.invalidImage(file: "/tmp/x.fits", hdu: 1, reason: "2 pixels given for a 3×3 image")) {
            try FITSWriter.write(wrongSize, to: "/tmp/x.fits")
        }
        let lowerCase = FITSFile(primary: FITSImage(width: 1, height: 1, pixels: .float32([1]),
                                                    keywords: [FITSKeyword("exptime", .double(1))]))
        #expect(throws: FITSError.self) { try FITSWriter.write(lowerCase, to: "/tmp/x.fits") }
    }
}
