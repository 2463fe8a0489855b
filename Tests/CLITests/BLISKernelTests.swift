import Foundation
import LinearAlgebra
import Testing

/// The tool chooses BLIS's kernels by what the CPU can do; BLIS must then run the ones chosen.
struct BLISKernelTests {
    @Test func theToolRunsTheBLISKernelsItChoseForThisCPU() async throws {
        // BLIS_ARCH_DEBUG makes BLIS print the sub-configuration it selects when it starts.
        let r = try await Tool.run(["--help"], environment: ["BLIS_ARCH_DEBUG": "1", "BLIS_ARCH_TYPE": nil])
        #expect(r.status == 0)
        let said = r.stdout + r.stderr
        guard let chosen = CPUFeatures.current.blisKernels else { return }
        // Before the fix the name itself went into BLIS_ARCH_TYPE, which BLIS 0.9 reads as a
        // number: every name read as 0 (`skx`), and an AVX2-only CPU crashed on AVX-512 code.
        #expect(said.contains("selecting sub-configuration '\(chosen)'"), "\(said.prefix(300))")
    }
}
