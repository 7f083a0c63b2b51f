package main

import (
	"strings"
	"testing"
)

const stream = `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: no daemon\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"pass","Package":"p","Elapsed":0.5}
`

func TestASkipFailsTheRunOnlyWithNoskip(t *testing.T) {
	for _, noskip := range []bool{false, true} {
		var out strings.Builder
		code := run(strings.NewReader(stream), &out, noskip)
		if want := map[bool]int{false: 0, true: 1}[noskip]; code != want {
			t.Errorf("noskip %v: exit %d, want %d\n%s", noskip, code, want, out.String())
		}
		if !strings.Contains(out.String(), "SKIP\tp\tTestB\n    b_test.go:9: no daemon") {
			t.Errorf("the skip and its reason are not shown:\n%s", out.String())
		}
	}
}

func TestAFailureShowsItsOutput(t *testing.T) {
	in := `{"Action":"output","Package":"p","Test":"TestC/sub","Output":"    c_test.go:3: got 1, want 2\n"}
{"Action":"fail","Package":"p","Test":"TestC/sub"}
{"Action":"output","Package":"p","Test":"TestC","Output":"--- FAIL: TestC\n"}
{"Action":"fail","Package":"p","Test":"TestC"}
{"Action":"fail","Package":"p","Elapsed":1}
`
	var out strings.Builder
	if code := run(strings.NewReader(in), &out, true); code != 1 || !strings.Contains(out.String(), "FAIL\tp") || !strings.Contains(out.String(), "got 1, want 2") {
		t.Errorf("exit %d\n%s", code, out.String())
	}
}
