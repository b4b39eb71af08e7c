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
