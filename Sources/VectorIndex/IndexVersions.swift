import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The directory of an index: numbered versions side by side and a `CURRENT` symlink naming the
/// one readers open.
///
///     <root>/versions/000001/           one LMDB environment (data.mdb, lock.mdb) per version
///     <root>/versions/000002.building/  a build in progress (or one that was killed)
///     <root>/CURRENT -> versions/000001
///
/// A build writes a new version beside the current one and publishes it by renaming a new
/// symlink over `CURRENT` (atomic), so a build killed at any moment leaves the previous version
/// current and searchable. Readers holding an older version keep their memory map until they
/// close it, even after it is pruned.
public struct IndexDirectory: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    var versionsPath: String { (root as NSString).appendingPathComponent("versions") }
    var currentLink: String { (root as NSString).appendingPathComponent("CURRENT") }

    /// The version `CURRENT` points at, as an absolute path; nil when there is none.
    public func currentVersion() -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: currentLink) else { return nil }
        return target.hasPrefix("/") ? target : (root as NSString).appendingPathComponent(target)
    }

    /// Published versions, oldest first.
    public func versions() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: versionsPath)) ?? []
        return names.filter { !$0.hasSuffix(".building") && Int($0) != nil }.sorted()
            .map { (versionsPath as NSString).appendingPathComponent($0) }
    }

    /// An exclusive lock on the directory for one build (`flock` on `<root>/build.lock`, which
    /// holds the builder's pid): released when the value goes away, and by the system when the
    /// process dies, so a killed build never blocks the next one.
    public final class BuildLock {
        private let fd: Int32

        init(root: String) throws {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let path = (root as NSString).appendingPathComponent("build.lock")
            fd = open(path, O_RDWR | O_CREAT, 0o644)
            guard fd >= 0 else { throw IndexError.badParameter("cannot open \(path): \(String(cString: strerror(errno)))") }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                var buffer = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &buffer, buffer.count, 0)
                let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
                close(fd)
                throw IndexError.buildInProgress(path: root, pid: holder)
            }
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pwrite(fd, pid, pid.count, 0)
        }

        deinit {
            flock(fd, LOCK_UN)
            close(fd)
        }
    }

    /// Takes the directory's build lock, failing at once when another build holds it.
    /// - Throws: `IndexError.buildInProgress` naming the other builder's pid.
    public func lockForBuild() throws -> BuildLock { try BuildLock(root: root) }

    /// A fresh directory for a build: `versions/<next>.building`. Leftovers of killed builds are
    /// removed; the caller holds the build lock, so no other build is writing one.
    func beginBuild() throws -> (building: String, name: String) {
        let fm = FileManager.default
        try fm.createDirectory(atPath: versionsPath, withIntermediateDirectories: true)
        let names = try fm.contentsOfDirectory(atPath: versionsPath)
        for name in names where name.hasSuffix(".building") {
            try? fm.removeItem(atPath: (versionsPath as NSString).appendingPathComponent(name))
        }
        let next = (names.compactMap { Int($0.replacingOccurrences(of: ".building", with: "")) }.max() ?? 0) + 1
        let name = String(format: "%06d", next)
        let building = (versionsPath as NSString).appendingPathComponent(name + ".building")
        try fm.createDirectory(atPath: building, withIntermediateDirectories: true)
        return (building, name)
    }

    /// Renames a finished build into place, points `CURRENT` at it and prunes old versions.
    /// Returns the published path.
    func publish(building: String, name: String, keep: Int) throws -> String {
        let final = (versionsPath as NSString).appendingPathComponent(name)
        try checked(rename(building, final), "rename \(building)")
        syncDirectory(versionsPath)
        let temporary = currentLink + ".tmp"
        unlink(temporary)
        try checked(symlink("versions/" + name, temporary), "symlink \(temporary)")
        try checked(rename(temporary, currentLink), "rename \(temporary) → CURRENT")
        syncDirectory(root)
        prune(keep: keep)
        return final
    }

    /// Removes all but the newest `keep` versions (never the current one).
    public func prune(keep: Int) {
        let current = currentVersion().map { ($0 as NSString).standardizingPath }
        let all = versions()
        for old in all.dropLast(max(keep, 1)) where (old as NSString).standardizingPath != current {
            try? FileManager.default.removeItem(atPath: old)
        }
    }

    private func checked(_ rc: Int32, _ what: String) throws {
        if rc != 0 { throw IndexError.badParameter("\(what): \(String(cString: strerror(errno)))") }
    }

    private func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
