#!/usr/bin/env python3
"""Records how real Helm (the oracle at /work/venv-helm) parses --set / --set-string
expressions into strvals_cases.json, which tests/strvals.rs compares tug-helm against.

Usage: /work/venv-helm/bin/python record_strvals.py
"""
import json
import os

import helm_python as helm

HERE = os.path.dirname(os.path.abspath(__file__))

EXPRESSIONS = [
    "a=1,b.c=two,ports={80,443}",
    "name1=value1,name2=value2",
    "leading_zeros=00009,neg=-5,plus=+7,big=9223372036854775808",
    "f=1.5,e=1e3,hex=0x10,t=True,F=FALSE,n=NULL,y=yes",
    "name1=one\\,two,name2=three\\,four",
    "key\\.dot=x,a\\=b=c",
    "outer.middle.inner=value,outer.other=1",
    "name1={value1,value2},empty={},one={x}",
    "list[0]=foo,list[2]=bar",
    "list[0].foo=bar,list[0].hello=world,list[1]=x",
    "nested[0][1]=1,nested[1][0]=2",
    "name1=",
    "name1=,name2=x",
    "a.b=1,a.b.c=2",
    "a=1,a.b=2",
    "a[0]=1,a.b=2",
    "a=x,a[0]=1",
    "name1",
    "name1,name2=x",
    "a.[0]=x",
    "list[-1]=x",
    "list[65537]=x",
    "list[x]=1",
    "list[0]x=1",
    "a={x,y",
    "a={x,y},b=1",
    "a=b=c",
    "a= spaced ,b=\ttab",
    "ünï=cödé",
    "a\\",
    "=x",
    ",a=1",
    "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.aa.bb.cc.dd.ee=1",
    'j={"a":[1,2.5,null]},k=true,l="s"',
    'j= [1] , k = 2',
    "j=,k=",
    'j=1b=2',
    'j[0]={"x":1},j[2]="z"',
    'j=nope',
    'j="unterminated',
    "lit=a,b=c\\d",
    "lit.nested=x",
    "lit[1]=y",
    "lit[0",
]

# --set-file expressions; the files are under strvals-files/ (recorded from this directory).
FILE_EXPRESSIONS = [
    "a=strvals-files/a.txt",
    "b=strvals-files/comma.txt,c=strvals-files/a.txt",
    "l={strvals-files/a.txt,strvals-files/comma.txt}",
    "m=strvals-files/missing.txt",
]


def run(fn, expr):
    try:
        return {"json": fn(expr)}
    except Exception as e:  # HelmValuesError
        return {"error": str(e)}


def main():
    cases = []
    for expr in EXPRESSIONS:
        cases.append({"expr": expr, "set": run(helm.parse_set_string, expr),
                      "set_string": run(helm.parse_set_string_values, expr),
                      "set_json": run(helm.parse_set_json, expr),
                      "set_literal": run(helm.parse_set_literal, expr)})
    os.chdir(HERE)
    for expr in FILE_EXPRESSIONS:
        cases.append({"expr": expr, "set_file": run(helm.parse_set_file, expr)})
    with open(os.path.join(HERE, "strvals_cases.json"), "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
