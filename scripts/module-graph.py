#!/usr/bin/env python3
"""Prints the crate's module graph (which module uses which, from `crate::`
paths in each file) and fails if it has a cycle. A module is a file; `mod.rs`
stands for its folder. Tests (`#[cfg(test)]` blocks) are not counted."""
import os, re, sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(__file__), '..', 'src')

def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] in ('mod', 'lib', 'main'):
        parts = parts[:-1]
    return '::'.join(parts) or 'crate'

files = {}
for d, _, fs in os.walk(ROOT):
    for f in fs:
        if f.endswith('.rs'):
            p = os.path.join(d, f)
            files[module_of(p)] = p
modules = set(files)

def resolve(path):
    parts = path.split('::')
    while parts:
        m = '::'.join(parts)
        if m in modules:
            return m
        parts = parts[:-1]
    return None

edges = defaultdict(set)
for m, p in files.items():
    src = open(p).read()
    src = src.split('#[cfg(test)]\nmod tests')[0]
    src = '\n'.join(l for l in src.split('\n') if not l.lstrip().startswith('//'))
    # `use crate::a::{b, c::d}` and inline `crate::a::b` paths
    for grp in re.finditer(r'crate::((?:\w+::)*)\{([^}]*)\}', src):
        base = grp.group(1)
        for item in grp.group(2).split(','):
            item = item.strip().split(' as ')[0]
            if item:
                t = resolve((base + item).replace('self', '').strip(':'))
                if t and t != m and not m.startswith(t + '::') :
                    edges[m].add(t)
    for ref in re.finditer(r'crate::((?:\w+)(?:::\w+)*)', src):
        t = resolve(ref.group(1))
        if t and t != m and not m.startswith(t + '::'):
            edges[m].add(t)
    # `super::x` in a folder module
    base = m.rsplit('::', 1)[0] if '::' in m and not p.endswith('mod.rs') else m
    for ref in re.finditer(r'\bsuper::(\w+)', src):
        parent = m.rsplit('::', 1)[0] if '::' in m else 'crate'
        if p.endswith('mod.rs'):
            parent = parent.rsplit('::', 1)[0] if '::' in parent else 'crate'
        t = resolve(parent + '::' + ref.group(1)) if parent != 'crate' else resolve(ref.group(1))
        if t and t != m and not m.startswith(t + '::'):
            edges[m].add(t)

# A folder's mod.rs re-exporting its children is not a dependency on them.
for m in list(edges):
    edges[m] = {t for t in edges[m] if not t.startswith(m + '::')}

def cycles():
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            strong(v)
    return out

if '--print' in sys.argv:
    for m in sorted(edges):
        print(f"{m} -> {', '.join(sorted(edges[m]))}")
found = cycles()
for c in found:
    print('cycle:', ' <-> '.join(c))
sys.exit(1 if found else 0)
