import Foundation
import Procedures
import SimKernel
import Testing
@testable import Experiments

@Suite struct StepTreeTests {
    /// Two children overlapping for 20 s inside a 100 s parent split the overlap; the parent keeps the 40 s
    /// no child covers. Worked by hand: A = 20 + 20/2, B = 20/2 + 20.
    @Test func parallelChildrenSplitTheTimeTheyOverlap() {
        let shares = ReferenceStepAttribution.attribute([(0, 40), (20, 60), (70, 70), (90, 130)], within: 0...100)
        #expect(shares == [30, 30, 0, 10])
    }

    @Test func perTrialTotalsAreKeyedByPathAndSkipStepsBeforeTheStart() {
        let steps = [
            StepRecord(name: "configure instrument", lane: "LATISS", process: "p", start: 0, end: 60, completed: true),
            StepRecord(name: "make_latiss_calibrations SDSSr_65mm", lane: "LATISS", process: "p", start: 100, end: 200, completed: true),
            StepRecord(name: "take_imgtype BIAS", lane: "LATISS", process: "p", start: 100, end: 150, completed: true, parent: 1),
            StepRecord(name: "make_latiss_calibrations SDSSg_65mm", lane: "LATISS", process: "p", start: 200, end: 260, completed: true),
            StepRecord(name: "take_imgtype BIAS", lane: "LATISS", process: "p", start: 200, end: 210, completed: true, parent: 3),
        ]
        var ledger = StepLedger()
        ledger.add(steps, window: 100...300)
        let t = ledger.byPath
        #expect(t["configure instrument"] == nil)
        #expect(t["make_latiss_calibrations SDSSr_65mm › take_imgtype BIAS"]?.seconds.mean == 50)
        #expect(t["make_latiss_calibrations SDSSg_65mm › take_imgtype BIAS"]?.seconds.mean == 10)
        #expect(t["make_latiss_calibrations SDSSg_65mm"]?.shareOfParentSeconds.mean == 60)
    }

    /// Over a study of the test procedure (a dome move in parallel with the lamp ignition, then warm-up and
    /// flats), every level of the tree sums to 100 % with its remainder, and the sequential flats' share of
    /// the trial is their fixed 4 × 7 s over the mean duration.
    @Test func sharesAtEachLevelSumToTheirParent() throws {
        let s = try testScenario()
        let state = try StudyRunner.run(s, options: RunOptions(threads: 2, trialRange: 0..<s.study.trials))
        let p = state.points[0]
        let d = p.metrics["duration_s"]!
        let tree = StepTree(steps: p.steps, totalSeconds: d.mean! * Double(d.count))
        let top = tree.roots.map(\.shareOfParent).reduce(0, +) + tree.otherShare
        #expect(abs(top - 1) < 1e-12)
        for n in tree.nodes where !n.children.isEmpty {
            #expect(abs(n.children.map(\.shareOfParent).reduce(0, +) + n.otherShare - 1) < 1e-12, "\(n.path)")
        }
        let flats = try #require(tree.roots.first { $0.name == "take flat" })
        let expected = 28 * Double(flats.trials) / (d.mean! * Double(d.count))
        #expect(abs(flats.shareOfParent - expected) < 1e-12)
        // The dome and the ignition overlap, so their shares are less than their durations' share.
        let dome = try #require(tree.roots.first { $0.name == "move dome" })
        #expect(dome.shareOfParent < dome.meanSeconds * Double(dome.trials) / (d.mean! * Double(d.count)))
        // The warm-up (900 s of a ~1000 s trial) is the dominant leaf.
        #expect(tree.dominant?.node.name == "warm up")
    }
}

/// `StepPath` splits on the separator's bytes when every other byte is ASCII, and must then split exactly as
/// `components(separatedBy:)` (which matches Characters) does; any other path goes to Foundation.
@Suite struct StepPathTests {
    static let paths = [
        "BLOCK-295 latiss_weekly_calibrations › make_latiss_calibrations SDSSr_65mm › take_imgtype BIAS",
        "top", "", " › ", "a › ", " › a", "a › b › c › d", "a  ›  b", "a ›b", "a› b", "a › › b", "a ›  › b",
        "ATMount slew to az 188.7 el 39.0", "a \r\n › b\t", "LATISS filter wheel to SDSSr_65mm › x",
        "ñandú › b", "a › \u{301}b", "a\u{600} › b", "ñ › é › z", "Sun −12° › a › b", "a › ›", "› › ›", "−12° › Sun", "a › b › ",
    ]

    @Test func splitsAsFoundationDoes() {
        for p in Self.paths {
            let c = p.components(separatedBy: StepPath.separator)
            #expect(StepPath.components(p) == c, "\(Array(p.utf8))")
            #expect(StepPath.name(p) == (c.last ?? p), "\(Array(p.utf8))")
            #expect(StepPath.parent(p) == (c.count > 1 ? c.dropLast().joined(separator: StepPath.separator) : nil), "\(Array(p.utf8))")
            #expect(StepPath.depth(p) == c.count - 1, "\(Array(p.utf8))")
        }
    }

    @Test func theByteScanIsTakenOnlyForASCIINames() {
        #expect(StepPath.asciiSeparatorOffsets("a › b › c") == [1, 7])
        #expect(StepPath.asciiSeparatorOffsets("top") == [])
        #expect(StepPath.asciiSeparatorOffsets("a › \u{301}b") == nil)
        #expect(StepPath.asciiSeparatorOffsets("ñandú › b") == nil)
    }
}
