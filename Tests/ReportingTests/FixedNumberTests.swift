import Foundation
import Testing
@testable import Reporting

/// Figures format their numbers with an exact 128-bit rounding instead of Foundation's `String(format:)`:
/// the bytes must be C printf's `%.Nf` for every value, ties and near-ties included.
@Suite struct FixedNumberTests {
    /// printf rounds the exact binary value, ties to even: 0.125 is exactly representable, so at two
    /// decimals it is a tie and goes to 0.12; 0.375 goes to 0.38; 2.5 → 2, 3.5 → 4; 0.1 is just above
    /// 0.1000000000000000055 and so never a tie.
    @Test func exactTiesGoToEvenAsPrintfDoes() {
        let cases: [(Double, Int, String)] = [
            (0.125, 2, "0.12"), (0.375, 2, "0.38"), (2.5, 0, "2"), (3.5, 0, "4"), (-2.5, 0, "-2"),
            (1.0625, 3, "1.062"), (1.1875, 3, "1.188"), (0.1, 1, "0.1"), (1e-12, 3, "0.000"), (0, 0, "0"),
            (123456.78125, 4, "123456.7812"),
        ]
        for (v, d, expected) in cases {
            #expect(FixedNumber.exactFixed(v, decimals: d) == expected, "\(v) at \(d) decimals")
            #expect(String(format: "%.\(d)f", v) == expected, "printf's own reading of \(v)")
        }
    }

    /// 200,000 values over 40 decades and every supported precision, from a fixed-seed generator, plus the
    /// doubles next to each tie: the fast path must equal `String(format:)` byte for byte.
    @Test func equalsPrintfOverManyMagnitudes() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state }
        var mismatches: [String] = []
        for k in 0..<200_000 {
            let decimals = k % 10
            let mantissa = Double(next() >> 11) / Double(UInt64(1) << 53)
            let exponent = Int(next() % 40) - 24
            var v = (mantissa + 0.5) * pow(10, Double(exponent)) * (next() & 1 == 0 ? 1 : -1)
            if k % 3 == 0 { // a tie at this precision, and its neighbours
                let scale = pow(10, Double(decimals))
                let tie = (Double(next() % 1_000_000) + 0.5) / scale
                v = [tie, tie.nextUp, tie.nextDown][k % 9 / 3]
            }
            guard let fast = FixedNumber.exactFixed(v, decimals: decimals) else { continue }
            let slow = String(format: "%.\(decimals)f", v)
            if fast != slow { mismatches.append("\(v) at \(decimals): \(fast) vs \(slow)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func outsideTheExactRangeFallsBackToPrintf() {
        #expect(FixedNumber.exactFixed(1e19, decimals: 0) == nil)
        #expect(FixedNumber.format(1e19, decimals: 0) == "10000000000000000000")
        #expect(FixedNumber.format(1e300, decimals: 2) == String(format: "%.2f", 1e300))
        #expect(FixedNumber.exactFixed(1.5, decimals: 12) == nil)
    }

    @Test func coloursAndEscapesKeepTheirBytes() {
        #expect(Palette.hex(0, 127.6, 255) == "#0080FF")
        #expect(Palette.hex(-3, 300, 10.49) == "#00FF0A")
        #expect(xmlEscaped("p50 < 5 min & \"ok\"") == "p50 &lt; 5 min &amp; &quot;ok&quot;")
        #expect(xmlEscaped("Sun −12° › twilight") == "Sun −12° › twilight")
        // Each character alone, so the check that lets plain text through unchanged must know all five.
        for (c, e) in [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\"", "&quot;"), ("'", "&#39;")] {
            #expect(xmlEscaped("R\(c)D") == "R\(e)D")
        }
        #expect(xmlEscaped("a\u{1}b") == "a\u{FFFD}b")
    }
}
