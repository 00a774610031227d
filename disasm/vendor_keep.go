package disasm

// The decoders this package builds on, kept in vendor/ until each
// architecture's file imports its own.
import (
	_ "golang.org/x/arch/arm/armasm"
	_ "golang.org/x/arch/arm64/arm64asm"
	_ "golang.org/x/arch/loong64/loong64asm"
	_ "golang.org/x/arch/ppc64/ppc64asm"
	_ "golang.org/x/arch/riscv64/riscv64asm"
	_ "golang.org/x/arch/s390x/s390xasm"
	_ "golang.org/x/arch/x86/x86asm"
)
