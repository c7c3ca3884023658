import Foundation
import Testing

/// The repository stands alone (a user's clone has nothing beside it) and the README's examples run.
@Suite struct RepositoryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Tracked files (git's index), or every file outside `.build` when the tree is not a git checkout.
    static func trackedFiles() throws -> [String] {
        if let out = try? run("/usr/bin/env", ["git", "-C", root.path, "ls-files", "-z"]), out.status == 0 {
            return out.stdout.split(separator: "\0").map(String.init)
        }
        var files: [String] = []
        let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let u = e?.nextObject() as? URL {
            let rel = String(u.path.dropFirst(root.path.count + 1))
            if rel.hasPrefix(".build") || rel.hasPrefix(".git") { e?.skipDescendants(); continue }
            if (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(rel) }
        }
        return files
    }

    static func run(_ exe: String, _ args: [String], cwd: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read before waiting so a chatty command cannot block on a full pipe.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Paths into the development machine's folder beside the repository (its name is assembled below, so
    /// this file does not match itself) do not exist in a user's clone.
    @Test func noTrackedFilePointsOutsideTheRepository() throws {
        let word = "sha" + "red"
        let patterns = ["../" + word, "/work/" + word, word + "/"]
        var hits: [String] = []
        for f in try Self.trackedFiles() {
            guard let data = FileManager.default.contents(atPath: Self.root.appendingPathComponent(f).path),
                  !data.contains(0), let text = String(data: data, encoding: .utf8) else { continue }
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                for p in patterns where line.contains(p) { hits.append("\(f):\(n + 1): \(line.trimmingCharacters(in: .whitespaces))") }
            }
        }
        #expect(hits.isEmpty, "files point outside the repository:\n\(hits.joined(separator: "\n"))")
    }

    /// The citations the README and the scenario reference rely on resolve inside the repository.
    @Test func citedDocumentsAreInTheRepository() throws {
        for f in ["docs/DESIGN.md", "docs/REFERENCES.md", "docs/sources/README.md"] {
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(f).path), "\(f) missing")
        }
        let refs = try String(contentsOf: Self.root.appendingPathComponent("docs/REFERENCES.md"), encoding: .utf8)
        var cited = Set<String>()
        for f in try Self.trackedFiles() where f.hasSuffix(".swift") || f.hasSuffix(".md") || f.hasSuffix(".yaml") {
            guard let text = try? String(contentsOf: Self.root.appendingPathComponent(f), encoding: .utf8) else { continue }
            for m in text.matches(of: /REFERENCES(?:\.md)? §(\d+(?:\.\d+)?)/) { cited.insert(String(m.1)) }
        }
        #expect(!cited.isEmpty)
        for s in cited.sorted() {
            #expect(refs.contains("\n## \(s). ") || refs.contains("\n### \(s) "), "REFERENCES §\(s) is cited but docs/REFERENCES.md has no such section")
        }
        let seeds = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("docs/sources").path)
        for n in ["000", "001", "002", "003"] { #expect(seeds.contains { $0.hasPrefix(n + "_") }, "seed \(n) missing from docs/sources") }
    }

    /// The `obsim …` lines of the README's code blocks, comments stripped, split like a shell would.
    static func readmeCommands() throws -> [[String]] {
        let text = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        var commands: [[String]] = []
        for raw in text.split(separator: "\n") where raw.hasPrefix("    obsim ") {
            var words: [String] = [], word = "", quote: Character? = nil, inWord = false
            for c in raw.dropFirst(4) {
                if let q = quote {
                    if c == q { quote = nil } else { word.append(c) }
                } else if c == "'" || c == "\"" {
                    quote = c; inWord = true
                } else if c == "#" && !inWord {
                    break
                } else if c == " " {
                    if inWord { words.append(word); word = ""; inWord = false }
                } else {
                    word.append(c); inWord = true
                }
            }
            if inWord { words.append(word) }
            commands.append(Array(words.dropFirst()))
        }
        return commands
    }

    static var obsim: String {
        let dir = Bundle.main.executableURL?.deletingLastPathComponent() ?? root.appendingPathComponent(".build/debug")
        return dir.appendingPathComponent("obsim").path
    }

    /// Every README example names commands and options that exist; the quick ones (validate, sky, motion,
    /// the reference, --version) are run as written from the repository's top folder and must succeed.
    /// Cluster lines use the scheduler's variables, so they are checked at the option level only.
    @Test func readmeExamplesRunAsWritten() throws {
        let commands = try Self.readmeCommands()
        #expect(commands.count >= 10)
        guard FileManager.default.isExecutableFile(atPath: Self.obsim) else {
            Issue.record("obsim is not built at \(Self.obsim) (swift build --build-tests builds it)")
            return
        }
        let quick: Set<String> = ["validate", "sky", "motion", "scenario-reference", "--version", "--help"]
        for words in commands {
            let shown = "obsim " + words.joined(separator: " ")
            // The subcommand path: leading words that are not options, files or values.
            var path: [String] = []
            for w in words {
                guard !w.hasPrefix("-"), !w.contains("."), !w.contains("/"), path.count < 2 else { break }
                let probe = try Self.run(Self.obsim, path + [w, "--help"], cwd: Self.root)
                if probe.status != 0 || !probe.stdout.contains("USAGE") { break }
                path.append(w)
            }
            let help = try Self.run(Self.obsim, path + ["--help"], cwd: Self.root)
            #expect(help.status == 0, "\(shown): `obsim \(path.joined(separator: " ")) --help` failed")
            for w in words where w.hasPrefix("--") {
                let option = String(w.split(separator: "=").first!)
                #expect(help.stdout.contains(option + " ") || help.stdout.contains(option + "\n") || option == "--help",
                        "\(shown): option \(option) is not in `obsim \(path.joined(separator: " ")) --help`")
            }
            if let first = words.first, quick.contains(first) {
                let r = try Self.run(Self.obsim, words, cwd: Self.root)
                #expect(r.status == 0, "\(shown) exited \(r.status): \(r.stderr)")
            }
        }
    }

    /// On two threads `obsim run` builds report.html beside state.json, summary.json and summary.md; the
    /// folder must hold the same bytes as a one-thread run's (run.json alone carries the host and the clock).
    @Test func aTwoThreadReportFolderIsTheOneThreadOne() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.obsim) else {
            Issue.record("obsim is not built at \(Self.obsim) (swift build --build-tests builds it)")
            return
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("obsim-threads-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        var folders: [URL] = []
        for threads in [1, 2] {
            let out = base.appendingPathComponent("t\(threads)")
            let r = try Self.run(Self.obsim, ["run", "Scenarios/twilight-flats-latiss.yaml", "--trials", "3", "--threads", "\(threads)",
                                              "--out", out.path], cwd: Self.root)
            #expect(r.status == 0, "obsim run --threads \(threads) exited \(r.status): \(r.stderr)")
            folders.append(out)
        }
        for name in ["report.html", "state.json", "summary.json", "summary.md", "trials.csv"] {
            let one = FileManager.default.contents(atPath: folders[0].appendingPathComponent(name).path)
            let two = FileManager.default.contents(atPath: folders[1].appendingPathComponent(name).path)
            #expect(one != nil && one == two, "\(name) differs between 1 and 2 threads")
        }
    }
}
