import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The scheduling priorities of the serving process's own threads, as nice values (lower runs first).
///
/// When the cores are saturated, the threads that finish short work (event commits, HTTP reads
/// and writes on the event loops) should not wait for a time slice behind the threads that do
/// the long work (tower inference and index probes, merges of the event log): a commit would then
/// take several times its own duration. The daemon and the router both set these. Raising a
/// thread's nice value needs no privilege; lowering it below 0 needs CAP_SYS_NICE, without which
/// the thread keeps the default.
enum ThreadPriority {
    /// The event writer: ahead of everything else.
    static let eventWriter: Int32 = -5
    /// The recommendation workers: behind the event loops and the writer.
    static let worker: Int32 = 5
    /// Merges of the event log: background work, behind the workers.
    static let merge: Int32 = 10

    /// Sets the calling thread's nice value and its name (as `top -H` and `perf` show it).
    static func setForCurrentThread(_ nice: Int32, name: String) {
        #if canImport(Glibc)
        // On Linux, who = 0 is the calling thread, not the process.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
        #endif
        Thread.current.name = name  // on the thread itself, so the kernel's name changes too
    }
}
