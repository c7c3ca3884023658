import Foundation
import Testing
@testable import Experiments

/// summary.json and state.json are written by `JSONValue`'s byte writer: its bytes are the files' format
/// (sorted keys, two-space indent, shortest round-trip doubles), and every string must survive a parser.
@Suite struct JSONWriterTests {
    @Test func layoutIsSortedKeysTwoSpaceIndentScalarsInline() {
        let v = JSONValue.object(["b": .array([.int(1), .double(0.1), .null]), "a": .object(["x": .bool(true)]),
                                  "c": .array([.object(["k": .uint(7)])]), "d": .double(.infinity)])
        #expect(v.text() == """
        {
          "a": {
            "x": true
          },
          "b": [1, 0.1, null],
          "c": [
            {
              "k": 7
            }
          ],
          "d": null
        }

        """)
        #expect(v.bytes() == Array(v.text().utf8))
    }

    /// Integers are spelled digit by digit without a String; they must be exactly `String(i)`'s digits.
    @Test func integersAreWrittenAsStringSpellsThem() {
        var ints: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, 12_345, -987_654_321, .max, .min, .max - 1, .min + 1]
        var uints: [UInt64] = [0, 5, 10, 1_000_000, .max, .max - 9, UInt64(Int64.max) + 1]
        var p: UInt64 = 1
        for _ in 0..<19 { ints += [Int64(p), Int64(p) - 1, -Int64(p)]; uints += [p, p - 1, p + 1]; p *= 10 }
        uints.append(p)
        for i in ints { #expect(JSONValue.int(i).text() == String(i) + "\n") }
        for u in uints { #expect(JSONValue.uint(u).text() == String(u) + "\n") }
    }

    @Test func stringsAreEscapedAndRoundTrip() throws {
        let tricky = "a \"quoted\" \\ path\nnew\tline\r\u{1}\u{1F} − Sun −12° › ñ 😀"
        let text = JSONValue.object([tricky: .string(tricky)]).text()
        #expect(text.contains(#""a \"quoted\" \\ path\nnew\tline\r\u0001\u001f − Sun −12° › ñ 😀""#))
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        #expect(parsed == [tricky: tricky])
        #expect(JSONValue.string("plain").text() == "\"plain\"\n")
    }

    /// Each character that must be escaped, alone in an otherwise plain string: a string is copied in one
    /// piece only when it holds none of them.
    @Test func aSingleEscapableCharacterIsStillEscaped() {
        let cases: [(String, String)] = [("a\"b", #"a\"b"#), ("a\\b", #"a\\b"#), ("a\nb", #"a\nb"#), ("a\rb", #"a\rb"#),
                                         ("a\tb", #"a\tb"#), ("a\u{0}b", #"a\u0000b"#), ("a\u{1F}b", #"a\u001fb"#),
                                         ("a\u{7F}b", "a\u{7F}b"), ("−12° ›", "−12° ›")]
        for (raw, escaped) in cases {
            #expect(JSONValue.string(raw).text() == "\"" + escaped + "\"\n", "\(Array(raw.utf8))")
        }
    }

    /// Indentation is two spaces per level at any depth, past the length of the writer's run of spaces too.
    @Test func deepNestingIsIndentedTwoSpacesPerLevel() {
        var v = JSONValue.int(1)
        for _ in 0..<40 { v = .array([v, .array([])]) }
        let lines = v.text().split(separator: "\n")
        for (depth, line) in lines.prefix(41).enumerated() {
            #expect(line.prefix { $0 == " " }.count == 2 * depth, "line \(depth): \(line)")
        }
    }
}
