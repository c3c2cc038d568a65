#!/usr/bin/env python3
"""Minimal reader of an orthoquant integer model file (FORMAT.md), standard library only:
checks magic, version, size and CRC-32, then prints the header scalars and each tensor's
dtype, shape and first values.  Usage: python3 read_oqint.py MODEL.oqint"""
import json, struct, sys, zlib
from array import array

path = sys.argv[1]
data = open(path, 'rb').read()
if len(data) < 16 or data[:8] != b'OQINTMDL':
    sys.exit(f'{path}: not an integer model file')
version, H = struct.unpack_from('<II', data, 8)
if version != 1:
    sys.exit(f'{path}: format version {version} not supported')
header = json.loads(data[16:16 + H].decode('utf-8'))
payload = data[16 + H:]
if len(payload) != header['payloadBytes'] or zlib.crc32(payload) != header['payloadCrc32']:
    sys.exit(f'{path}: size or checksum mismatch')
codes = {'int8': 'b', 'int16': 'h', 'int32': 'i'}
print({k: v for k, v in header.items() if k not in ('tensors', 'metadata')})
for name, e in header['tensors'].items():
    a = array(codes[e['dtype']])
    a.frombytes(payload[e['offset']:e['offset'] + e['byteLength']])
    if sys.byteorder == 'big':
        a.byteswap()
    extra = f" bits={e['bits']} scale={e['scale']:.6g}" if 'bits' in e else ''
    print(f"{name:14s} {e['dtype']:6s} {e['shape']}{extra} {list(a[:6])}")
