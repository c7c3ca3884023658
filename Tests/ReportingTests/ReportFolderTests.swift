import Foundation
import Testing
@testable import Reporting

/// One folder per test process for these tests' report folders, removed when the process exits.
let reportingScratchRoot: String = {
    let root = NSTemporaryDirectory() + "obsim-reporting-tests-\(getpid())"
    atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "obsim-reporting-tests-\(getpid())") }
    return root
}()

/// The report folder never destroys what it does not own, and a run killed at any point leaves the
/// previous report or the new one whole.
@Suite struct ReportFolderTests {
    let root: URL

    init() throws {
        root = URL(fileURLWithPath: reportingScratchRoot).appendingPathComponent("folder-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func text(_ url: URL) -> String? { try? String(contentsOf: url, encoding: .utf8) }

    func siblings() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted() }

    /// Writes a report holding summary.json = `content` into `path` and commits it.
    func report(_ path: URL, _ content: String) throws {
        let folder = try ReportFolder(path.path)
        try Data(content.utf8).write(to: folder.file("summary.json"))
        try folder.commit()
    }

    @Test func aFolderThatIsNoReportIsRefusedAndLeftAlone() throws {
        let thesis = root.appendingPathComponent("thesis")
        try FileManager.default.createDirectory(at: thesis, withIntermediateDirectories: true)
        try Data("chapter 1".utf8).write(to: thesis.appendingPathComponent("thesis.tex"))
        #expect(throws: ReportFolderError.self) { try ReportFolder(thesis.path) }
        #expect(text(thesis.appendingPathComponent("thesis.tex")) == "chapter 1")
        #expect(siblings() == ["thesis"])
        // A plain file of that name is refused too.
        let file = root.appendingPathComponent("notes")
        try Data("x".utf8).write(to: file)
        #expect(throws: ReportFolderError.self) { try ReportFolder(file.path) }
        #expect(text(file) == "x")
    }

    @Test func theCurrentFolderAndItsAncestorsAreRefused() throws {
        let cwd = FileManager.default.currentDirectoryPath
        for path in [".", cwd, URL(fileURLWithPath: cwd).deletingLastPathComponent().path, "/"] {
            #expect(throws: ReportFolderError.self, "\(path)") { try ReportFolder(path) }
        }
    }

    @Test func aReportIsReplacedWholeAndNothingIsLeftBeside() throws {
        let rep = root.appendingPathComponent("rep")
        try report(rep, "first")
        try report(rep, "second")
        #expect(text(rep.appendingPathComponent("summary.json")) == "second")
        #expect(siblings() == ["rep"])
        // The marker lists what the run wrote.
        #expect(text(rep.appendingPathComponent(ReportFolder.markerName))?.contains("\nsummary.json\n") == true)
        // An empty folder may become a report.
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try report(empty, "new")
        #expect(text(empty.appendingPathComponent("summary.json")) == "new")
    }

    @Test func aReportHoldingAFileNoRunWroteIsRefused() throws {
        let rep = root.appendingPathComponent("rep")
        try report(rep, "first")
        try Data("mine".utf8).write(to: rep.appendingPathComponent("notes.txt"))
        #expect(throws: ReportFolderError.self) { try ReportFolder(rep.path) }
        #expect(text(rep.appendingPathComponent("notes.txt")) == "mine")
        #expect(text(rep.appendingPathComponent("summary.json")) == "first")
    }

    @Test func aReportOfAnOlderObsimWithoutMarkerIsRecognisedByItsState() throws {
        let rep = root.appendingPathComponent("legacy")
        try FileManager.default.createDirectory(at: rep, withIntermediateDirectories: true)
        try Data(#"{"schema": 1, "content_digest": "abc", "trial_ranges": [[0, 4]]}"#.utf8).write(to: rep.appendingPathComponent("state.json"))
        try Data("old".utf8).write(to: rep.appendingPathComponent("summary.json"))
        try report(rep, "new")
        #expect(text(rep.appendingPathComponent("summary.json")) == "new")
        #expect(!FileManager.default.fileExists(atPath: rep.appendingPathComponent("state.json").path))
        // A state.json of something else is not enough.
        let other = root.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try Data(#"{"name": "npm"}"#.utf8).write(to: other.appendingPathComponent("state.json"))
        #expect(throws: ReportFolderError.self) { try ReportFolder(other.path) }
    }

    /// Killed between the two renames of the fallback commit: the report path is empty and the previous
    /// report sits aside, unlocked. The next run puts it back before anything else.
    @Test func aReportLeftAsideByAKilledRunIsRestored() throws {
        let rep = root.appendingPathComponent("rep")
        try report(rep, "previous")
        let aside = root.appendingPathComponent(".rep.old-otherhost-1-abcd")
        #expect(rename(rep.path, aside.path) == 0)
        // The killed run's finished temporary folder, unlocked: abandoned.
        let abandoned = root.appendingPathComponent(".rep.tmp-otherhost-1-abcd")
        try FileManager.default.createDirectory(at: abandoned, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: abandoned.appendingPathComponent(ReportFolder.markerName).path, contents: Data())
        let next = try ReportFolder(rep.path)
        #expect(text(rep.appendingPathComponent("summary.json")) == "previous")
        #expect(siblings() == [".rep.tmp-\(next.owner)", "rep"])
        next.discard()
        #expect(siblings() == ["rep"])
    }

    /// A run still writing holds its marker's lock: its folder is left alone whatever its name says
    /// (another host, another PID namespace); two runs into one path never share a temporary folder.
    @Test func aLiveRunsTemporaryFolderIsLeftAndNamesAreUnique() throws {
        let rep = root.appendingPathComponent("rep")
        let a = try ReportFolder(rep.path)
        let b = try ReportFolder(rep.path)
        #expect(a.temporary != b.temporary)
        #expect(a.owner.hasPrefix(ReportFolder.hostName() + "-\(getpid())-"))
        try Data("a".utf8).write(to: a.file("summary.json"))
        try Data("b".utf8).write(to: b.file("summary.json"))
        #expect(FileManager.default.fileExists(atPath: a.temporary.path))
        try a.commit()
        try b.commit()
        #expect(text(rep.appendingPathComponent("summary.json")) == "b")
        #expect(siblings() == ["rep"])
    }

    @Test func theTwoStepFallbackReplacesWholeToo() throws {
        let rep = root.appendingPathComponent("rep")
        try report(rep, "first")
        let folder = try ReportFolder(rep.path)
        try Data("second".utf8).write(to: folder.file("summary.json"))
        try folder.writeMarkerList()
        try folder.commitInTwoSteps()
        #expect(text(rep.appendingPathComponent("summary.json")) == "second")
        #expect(siblings() == ["rep"])
    }

    @Test func framesInsideTheReportAreCommittedWithIt() throws {
        let rep = root.appendingPathComponent("rep")
        try report(rep, "first")
        let folder = try ReportFolder(rep.path)
        let frames = folder.staged(rep.appendingPathComponent("frames"))
        #expect(frames.path == folder.temporary.path + "/frames")
        #expect(folder.staged(root.appendingPathComponent("elsewhere")) == root.appendingPathComponent("elsewhere"))
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        try Data("fits".utf8).write(to: frames.appendingPathComponent("f.fits"))
        try folder.commit()
        #expect(text(rep.appendingPathComponent("frames/f.fits")) == "fits")
        // The next run replaces that report, frames and all.
        try report(rep, "third")
        #expect(!FileManager.default.fileExists(atPath: rep.appendingPathComponent("frames").path))
    }

    @Test func aWriteFailureNamesTheReportFile() throws {
        let folder = try ReportFolder(root.appendingPathComponent("rep").path)
        defer { folder.discard() }
        let missing = folder.file("no-such-folder/summary.json")
        do {
            try Data("x".utf8).write(to: missing)
            Issue.record("the write should have failed")
        } catch {
            let message = folder.explain(error)
            #expect(message == "cannot write \(root.path)/rep/no-such-folder/summary.json: No such file or directory", "\(message)")
        }
    }
}
