//go:build ignore

// gen writes shani_amd64.s, SHA-1 with the x86 SHA extensions: SHANI (one
// block) and HMACCounter and HMACCounter2 (the whole HMAC of one or two
// 8-byte counters from precomputed pad states). Run it with `go generate`.
//
// Register use for stream s (0 or 1), with base r = 7s: X(r) holds a, b, c,
// d (a in the high dword), X(r+1) and X(r+2) take turns holding e plus the
// next four message words, X(r+3)..X(r+6) are a ring of four message-word
// quadruples (the first word of each in the high dword). X14 and X15 are
// scratch. SHANI keeps the incoming state in X7 and X8; the HMAC functions
// reload it from the pad states, which leaves room for two streams.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
)

var b bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

type stream int

func (s stream) abcd() string     { return fmt.Sprintf("X%d", 7*int(s)) }
func (s stream) e(i int) string   { return fmt.Sprintf("X%d", 7*int(s)+1+i%2) }
func (s stream) msg(i int) string { return fmt.Sprintf("X%d", 7*int(s)+3+i%4) }

// rounds emits the 80 rounds for each stream, interleaved group by group so
// that the streams' dependency chains overlap. On entry e(0) holds e alone;
// on exit abcd holds the new a..d and e(20) the new e before the final
// addition of the incoming state.
func rounds(streams []stream) {
	for g := 0; g < 20; g++ {
		p("\t// Rounds %d-%d", 4*g, 4*g+3)
		for _, s := range streams {
			if g == 0 {
				p("\tPADDD %s, %s", s.msg(0), s.e(0))
			} else {
				// e for these rounds is a of four rounds ago rotated by 30.
				p("\tSHA1NEXTE %s, %s", s.msg(g), s.e(g))
			}
			p("\tMOVO %s, %s", s.abcd(), s.e(g+1))
			if g >= 3 && g <= 18 {
				// Finish words 4g+4..4g+7.
				p("\tSHA1MSG2 %s, %s", s.msg(g), s.msg(g+1))
			}
			p("\tSHA1RNDS4 $%d, %s, %s", g/5, s.e(g), s.abcd())
			if g >= 1 && g <= 16 {
				p("\tSHA1MSG1 %s, %s", s.msg(g), s.msg(g-1))
			}
			if g >= 2 && g <= 17 {
				p("\tPXOR %s, %s", s.msg(g), s.msg(g-2))
			}
		}
	}
}

// loadState loads the five state words at off(reg) into abcd and e.
func loadState(s stream, reg string, off int) {
	p("\tMOVOU %d(%s), %s", off, reg, s.abcd())
	p("\tPSHUFD $0x1B, %s, %s", s.abcd(), s.abcd())
	p("\tMOVL %d(%s), CX", off+16, reg)
	p("\tMOVQ CX, %s", s.e(0))
	p("\tPSLLDQ $12, %s", s.e(0))
}

// addState adds the five state words at off(reg) to the stream's result.
func addState(s stream, reg string, off int) {
	p("\tMOVOU %d(%s), X14", off, reg)
	p("\tPSHUFD $0x1B, X14, X14")
	p("\tPADDD X14, %s", s.abcd())
	p("\tMOVL %d(%s), CX", off+16, reg)
	p("\tMOVQ CX, X15")
	p("\tPSLLDQ $12, X15")
	p("\tSHA1NEXTE X15, %s", s.e(20))
}

// storeState writes the stream's state words to off(reg).
func storeState(s stream, reg string, off int) {
	p("\tPSHUFD $0x1B, %s, %s", s.abcd(), s.abcd())
	p("\tMOVOU %s, %d(%s)", s.abcd(), off, reg)
	p("\tPSRLDQ $12, %s", s.e(20))
	p("\tMOVQ %s, CX", s.e(20))
	p("\tMOVL CX, %d(%s)", off+16, reg)
}

func shani() {
	p("// func SHANI(h *[5]uint32, w *[16]uint32)")
	p("TEXT ·SHANI(SB), NOSPLIT, $0-16")
	p("\tMOVQ h+0(FP), AX")
	p("\tMOVQ w+8(FP), BX")
	s := stream(0)
	loadState(s, "AX", 0)
	p("\tMOVO X0, X7")
	p("\tMOVO X1, X8")
	p("\t// Message words, each quadruple reversed so that its first word is high.")
	for i := 0; i < 4; i++ {
		p("\tMOVOU %d(BX), %s", 16*i, s.msg(i))
		p("\tPSHUFD $0x1B, %s, %s", s.msg(i), s.msg(i))
	}
	rounds([]stream{s})
	p("\t// Add the incoming state.")
	p("\tSHA1NEXTE X8, %s", s.e(20))
	p("\tPADDD X7, X0")
	storeState(s, "AX", 0)
	p("\tRET")
	p("")
}

// hmac emits the HMAC of n consecutive counters. The inner block is the
// counter (words 0 and 1), the end bit (word 2) and the length 576 bits
// (word 15); the outer block is the inner digest (words 0-4), the end bit
// (word 5) and the length 672 bits (word 15).
func hmac(name string, n int) {
	var streams []stream
	for i := 0; i < n; i++ {
		streams = append(streams, stream(i))
	}
	out := "*[5]uint32"
	if n == 2 {
		out = "*[2][5]uint32"
	}
	p("// func %s(pads *[2][5]uint32, counter uint64, out %s)", name, out)
	p("TEXT ·%s(SB), NOSPLIT, $0-24", name)
	p("\tMOVQ pads+0(FP), AX")
	p("\tMOVQ counter+8(FP), DX")
	p("\tMOVQ out+16(FP), BX")
	p("\t// Inner block: the counter is the high quadword of the first quadruple,")
	p("\t// the end bit the top of its low quadword.")
	p("\tMOVQ $0x8000000000000000, R8")
	p("\tMOVL $576, R9")
	for _, s := range streams {
		if s > 0 {
			p("\tINCQ DX")
		}
		p("\tMOVQ R8, %s", s.msg(0))
		p("\tMOVQ DX, X14")
		p("\tPUNPCKLQDQ X14, %s", s.msg(0))
		p("\tPXOR %s, %s", s.msg(1), s.msg(1))
		p("\tPXOR %s, %s", s.msg(2), s.msg(2))
		p("\tMOVQ R9, %s", s.msg(3))
		loadState(s, "AX", 0)
	}
	rounds(streams)
	for _, s := range streams {
		addState(s, "AX", 0)
	}
	p("\t// Outer block: a..d of the inner digest are the first quadruple as they")
	p("\t// stand, e is the high dword of the second, the end bit below it.")
	p("\tMOVQ $0x80000000, R8")
	p("\tMOVQ R8, X14")
	p("\tPSLLDQ $8, X14")
	p("\tMOVL $672, R9")
	for _, s := range streams {
		p("\tMOVO %s, %s", s.abcd(), s.msg(0))
		p("\tMOVO %s, %s", s.e(20), s.msg(1))
		p("\tPOR X14, %s", s.msg(1))
		p("\tPXOR %s, %s", s.msg(2), s.msg(2))
		p("\tMOVQ R9, %s", s.msg(3))
	}
	for _, s := range streams {
		loadState(s, "AX", 20)
	}
	rounds(streams)
	for _, s := range streams {
		addState(s, "AX", 20)
		storeState(s, "BX", 20*int(s))
	}
	p("\tRET")
	p("")
}

func main() {
	p("// Code generated by gen.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64")
	p("")
	p(`#include "textflag.h"`)
	p("")
	shani()
	hmac("HMACCounter", 1)
	hmac("HMACCounter2", 2)
	if err := os.WriteFile("shani_amd64.s", b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
