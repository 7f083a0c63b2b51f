//go:build !amd64

package probe

const haveCPUID = false

func cpuid(fn, sub uint32) (eax, ebx, ecx, edx uint32) { return 0, 0, 0, 0 }
