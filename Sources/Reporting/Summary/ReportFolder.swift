import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a report cannot be written where it was asked to go.
public struct ReportFolderError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Writes a report folder so that nothing is ever lost: into a sibling temporary folder, swapped with the
/// previous report in one atomic step at the end. Whatever moment the process dies at (SIGKILL, power
/// loss), the report path holds either the previous report or the new one, whole.
///
/// Only a folder that is recognisably an Obsim report is ever replaced: one holding the marker file
/// `.obsim-report` (which lists what the run wrote) and nothing else, or a report of an older Obsim (its
/// `state.json` schema) holding only report files. Any other existing folder — `--out ~/thesis`,
/// `--out .` — is refused before anything is simulated.
///
/// The marker is also the lock: a live run holds an exclusive `flock` on the marker of its temporary
/// folder, which the kernel drops when the process dies however it dies. So the next run can tell an
/// abandoned temporary folder from one still being written, across PID namespaces and hosts sharing a
/// file system, and temporary names carry host, PID and a random part so two runs never share one.
public final class ReportFolder {
    public static let markerName = ".obsim-report"
    static let markerHeader = "Obsim report folder: the next run into it replaces it whole. Written by the run:"
    /// What reports of Obsim versions without the marker held.
    static let legacyReportFiles: Set<String> = ["summary.json", "summary.md", "trials.csv", "state.json", "run.json", "report.html", "trace.txt"]

    public let final: URL
    public let temporary: URL
    let owner: String
    var lock: Int32 = -1

    public init(_ path: String) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        final = url
        let name = url.lastPathComponent
        let resolved = url.resolvingSymlinksInPath().path
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).resolvingSymlinksInPath().path
        if resolved == "/" || cwd == resolved || cwd.hasPrefix(resolved + "/") {
            throw ReportFolderError("\(path) is the current folder or holds it; a report folder is replaced whole, so give a subfolder (e.g. Reports/\(name == "" || name == "/" ? "study" : name))")
        }
        try Self.checkReplaceable(url, asGiven: path)
        owner = "\(Self.hostName())-\(getpid())-\(String(UInt32.random(in: .min ... .max), radix: 16))"
        let parent = url.deletingLastPathComponent()
        temporary = parent.appendingPathComponent(".\(name).tmp-\(owner)")
        Self.recoverAbandoned(in: parent, name: name)
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
        } catch {
            throw ReportFolderError("cannot create the report folder \(path): \(Self.reason(error))")
        }
        lock = Self.openLocked(temporary.appendingPathComponent(Self.markerName).path)
        if lock < 0 {
            let why = String(cString: strerror(errno))
            discard()
            throw ReportFolderError("cannot write in \(parent.path): \(why)")
        }
    }

    deinit { if lock >= 0 { close(lock) } }

    public func file(_ name: String) -> URL { temporary.appendingPathComponent(name) }

    /// Where to write `url`: a path inside the report (`--frames REPORT/frames`) goes into the temporary
    /// folder, so it is committed with the report rather than written into the previous one.
    public func staged(_ url: URL) -> URL {
        let path = url.standardizedFileURL.path
        guard path == final.path || path.hasPrefix(final.path + "/") else { return url }
        return URL(fileURLWithPath: temporary.path + path.dropFirst(final.path.count))
    }

    /// Replaces the previous report (if any) with the finished folder, atomically.
    public func commit() throws {
        try writeMarkerList()
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if !fm.fileExists(atPath: final.path, isDirectory: &isDirectory) {
            guard rename(temporary.path, final.path) == 0 else { throw failure("cannot move the report into \(final.path)") }
        } else {
            // The previous report may have been replaced by hand since the start: check again.
            try Self.checkReplaceable(final, asGiven: final.path)
            if Self.exchange(temporary.path, final.path) == 0 {
                try? fm.removeItem(at: temporary)  // now the previous report
            } else if errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP {
                try commitInTwoSteps()
            } else {
                throw failure("cannot swap the report into \(final.path)")
            }
        }
        close(lock)
        lock = -1
    }

    /// For file systems without RENAME_EXCHANGE: previous report aside, new one in, previous one removed.
    /// The aside folder's marker stays locked meanwhile; if the process dies between the renames, the next
    /// run finds the report path empty and the aside folder unlocked, and moves it back.
    func commitInTwoSteps() throws {
        let aside = final.deletingLastPathComponent().appendingPathComponent(".\(final.lastPathComponent).old-\(owner)")
        let asideLock = Self.openLocked(final.appendingPathComponent(Self.markerName).path)
        defer { if asideLock >= 0 { close(asideLock) } }
        guard asideLock >= 0 else { throw failure("the report \(final.path) is being replaced by another run") }
        guard rename(final.path, aside.path) == 0 else { throw failure("cannot move the previous report aside") }
        guard rename(temporary.path, final.path) == 0 else {
            let err = failure("cannot move the report into \(final.path)")
            _ = rename(aside.path, final.path)
            throw err
        }
        try? FileManager.default.removeItem(at: aside)
    }

    public func discard() {
        try? FileManager.default.removeItem(at: temporary)
        if lock >= 0 { close(lock); lock = -1 }
    }

    /// A message for a failed write into this folder that names the report file, not a framework dump.
    public func explain(_ error: Error) -> String {
        guard let path = (error as NSError).userInfo[NSFilePathErrorKey] as? String ?? (error as? CocoaError)?.filePath else {
            return "\(error)"
        }
        let shown = path.hasPrefix(temporary.path) ? final.path + path.dropFirst(temporary.path.count) : path
        return "cannot write \(shown): \(Self.reason(error))"
    }

    func writeMarkerList() throws {
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []).filter { $0 != Self.markerName }.sorted()
        let text = Data(([Self.markerHeader] + entries).joined(separator: "\n").appending("\n").utf8)
        let written = text.withUnsafeBytes { pwrite(lock, $0.baseAddress, $0.count, 0) }
        guard written == text.count, ftruncate(lock, off_t(text.count)) == 0 else {
            throw failure("cannot write \(final.path)/\(Self.markerName)")
        }
    }

    func failure(_ what: String) -> ReportFolderError {
        ReportFolderError("\(what): \(String(cString: strerror(errno)))")
    }

    // MARK: Which folders may be replaced

    /// Throws unless `url` does not exist, is an empty folder, or is an Obsim report and nothing more.
    static func checkReplaceable(_ url: URL, asGiven path: String) throws {
        var st = stat()
        guard lstat(url.path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFLNK {
            throw ReportFolderError("\(path) is a symbolic link; give the report folder itself")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ReportFolderError("\(path) exists and is not a folder; give a new folder or an earlier Obsim report to replace")
        }
        let entries = Set((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
        if entries.isEmpty { return }
        let allowed: Set<String>
        if entries.contains(markerName) {
            let text = (try? String(contentsOf: url.appendingPathComponent(markerName), encoding: .utf8)) ?? ""
            allowed = Set(text.split(separator: "\n").dropFirst().map(String.init)).union([markerName])
        } else if isLegacyReport(url) {
            allowed = legacyReportFiles
        } else {
            throw ReportFolderError("\(path) exists and is not an Obsim report (no \(markerName) or state.json); it is left as it is: give a new folder, e.g. \(url.appendingPathComponent("report").path)")
        }
        let foreign = entries.subtracting(allowed).sorted()
        if !foreign.isEmpty {
            let shown = foreign.prefix(3).joined(separator: ", ") + (foreign.count > 3 ? " and \(foreign.count - 3) more" : "")
            throw ReportFolderError("\(path) is an Obsim report but also holds \(shown), which no run wrote; it is left as it is: move those out or give another folder")
        }
    }

    static func isLegacyReport(_ url: URL) -> Bool {
        guard let data = try? Data(contentsOf: url.appendingPathComponent("state.json")),
              let j = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return j["schema"] is NSNumber && j["content_digest"] is String && j["trial_ranges"] is [Any]
    }

    // MARK: Temporary folders of runs that died

    /// Removes abandoned temporary folders beside the report and, when a run died between the two renames
    /// of `commitInTwoSteps`, moves the previous report back into place. Folders of live runs are left.
    static func recoverAbandoned(in parent: URL, name: String) {
        guard let siblings = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        let finalPath = parent.appendingPathComponent(name).path
        for sibling in siblings.sorted() where sibling.hasPrefix(".\(name).old-") {
            let dir = parent.appendingPathComponent(sibling)
            guard isAbandoned(dir, owner: String(sibling.dropFirst(name.count + 6))) else { continue }
            if !FileManager.default.fileExists(atPath: finalPath) {
                _ = rename(dir.path, finalPath)
            } else {
                try? FileManager.default.removeItem(at: dir)
            }
        }
        for sibling in siblings where sibling.hasPrefix(".\(name).tmp-") {
            let dir = parent.appendingPathComponent(sibling)
            if isAbandoned(dir, owner: String(sibling.dropFirst(name.count + 6))) { try? FileManager.default.removeItem(at: dir) }
        }
    }

    /// Abandoned: its marker's lock is free, or (no marker yet) its owner was a process of this host that no
    /// longer exists.
    static func isAbandoned(_ dir: URL, owner: String) -> Bool {
        let fd = open(dir.appendingPathComponent(markerName).path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            return flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        let fields = owner.split(separator: "-")
        // `HOST-PID-RANDOM` (host names may hold '-'), or a bare PID from versions before host names.
        let pidField = fields.count >= 3 ? fields[fields.count - 2] : fields.first ?? ""
        let host = fields.count >= 3 ? fields.dropLast(2).joined(separator: "-") : hostName()
        guard host == hostName(), let pid = pid_t(pidField), pid != getpid() else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    static func openLocked(_ path: String) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return -1 }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let saved = errno
            close(fd)
            errno = saved
            return -1
        }
        return fd
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let safe = String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "." ? Character($0) : "_" })
        return safe.isEmpty ? "host" : safe
    }

    public static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        let code: Int32
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileWriteOutOfSpace: code = ENOSPC
        case .fileWriteNoPermission, .fileReadNoPermission: code = EACCES
        case .fileWriteVolumeReadOnly: code = EROFS
        case .fileNoSuchFile, .fileReadNoSuchFile: code = ENOENT
        default: return ns.localizedDescription
        }
        return String(cString: strerror(code))
    }

    // MARK: renameat2(RENAME_EXCHANGE)

    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    static let renameExchange: UInt32 = 1 << 1

    /// Swaps two paths atomically; -1 with errno ENOSYS where the C library has no renameat2.
    static func exchange(_ a: String, _ b: String) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else {
            errno = ENOSYS
            return -1
        }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange)
    }
}
