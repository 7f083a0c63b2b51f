package probe

const haveCPUID = true

// cpuid executes the CPUID instruction (cpuid_amd64.s).
func cpuid(fn, sub uint32) (eax, ebx, ecx, edx uint32)
