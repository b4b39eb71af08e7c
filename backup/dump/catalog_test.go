package dump

import (
	"strings"
	"testing"
)

func TestOrderViews(t *testing.T) {
	vs := []*objInfo{
		{Name: "a", deps: []string{"c"}},
		{Name: "b"},
		{Name: "c", deps: []string{"b"}},
		{Name: "x", deps: []string{"y"}},
		{Name: "y", deps: []string{"x"}}, // a false cycle: broken in name order
	}
	var got []string
	for _, v := range orderViews(vs) {
		got = append(got, v.Name)
	}
	want := "b c a x y"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("order %q, want %q", s, want)
	}
}

func TestOrderDatabases(t *testing.T) {
	dbs := []*dbInfo{
		{Name: "a", viewDefs: []string{"select `c`.`t`.`x` AS `x` from `c`.`t`"}},
		{Name: "b"},
		{Name: "c", viewDefs: []string{"select `b`.`t`.`x` AS `x` from `b`.`t`"}},
	}
	var got []string
	for _, d := range orderDatabases(dbs) {
		got = append(got, d.Name)
	}
	if s := strings.Join(got, " "); s != "b c a" {
		t.Errorf("order %q, want b c a", s)
	}
}

func TestDumpColumns(t *testing.T) {
	names := func(cs []colInfo) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return strings.Join(s, " ")
	}
	gen := column{name: "g", dataType: "int", generated: "ALWAYS", expr: "`a` + 1"}
	plain := column{name: "a", dataType: "int", generated: "NEVER"}
	cases := []struct {
		cols      []column
		versioned bool
		want      string
		trx       bool
	}{
		{[]column{gen}, false, "", false},
		{[]column{plain, gen}, true, "a ROW_START ROW_END", false},
		{[]column{plain, {name: "rs", dataType: "timestamp", generated: "ALWAYS", expr: "ROW START"},
			{name: "re", dataType: "timestamp", generated: "ALWAYS", expr: "ROW END"}}, true, "a rs re", false},
		{[]column{plain, gen, {name: "rs", dataType: "bigint", generated: "ALWAYS", expr: "ROW START"},
			{name: "re", dataType: "bigint", generated: "ALWAYS", expr: "ROW END"}}, true, "a", true},
	}
	for i, c := range cases {
		got, trx := dumpColumns(c.cols, c.versioned)
		if names(got) != c.want || trx != c.trx {
			t.Errorf("case %d: columns %q trx %v, want %q %v", i, names(got), trx, c.want, c.trx)
		}
	}
}

func TestTableSettings(t *testing.T) {
	heap := &tableInfo{Engine: "MEMORY", DataLength: 20 << 20, IndexLength: 3 << 20}
	if got := heapSize(heap); got != 46<<20 {
		t.Errorf("heapSize %d, want %d", got, 46<<20)
	}
	for _, small := range []*tableInfo{{Engine: "MEMORY", DataLength: 1000}, {Engine: "InnoDB", DataLength: 1 << 30}} {
		if got := heapSize(small); got != 0 {
			t.Errorf("heapSize(%s, %d) = %d, want 0", small.Engine, small.DataLength, got)
		}
	}
	tb := &tableInfo{Name: "t", Create: "CREATE TABLE `t` (a int)", Settings: []string{"innodb_strict_mode = 0", "max_heap_table_size = 16777216"}}
	want := "SET SESSION innodb_strict_mode = 0;\nSET SESSION max_heap_table_size = 16777216;\nCREATE TABLE `t` (a int);\n" +
		"SET SESSION innodb_strict_mode = DEFAULT;\nSET SESSION max_heap_table_size = DEFAULT;\n"
	if got := tableSchema(tb); got != want {
		t.Errorf("tableSchema\n got %q\nwant %q", got, want)
	}
	cur := "a"
	if got := useFor(&cur, "a"); got != "" {
		t.Errorf("useFor same database: %q", got)
	}
	if got := useFor(&cur, "b`c"); got != "USE `b``c`;\n" || cur != "b`c" {
		t.Errorf("useFor: %q, current %q", got, cur)
	}
}
