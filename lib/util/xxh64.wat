;; XXH64 (seed 0), streaming, for the checksum that ends a zstd frame (lib/util/xxh64.ts).
;; Input is copied to memory at 0: `stripes` takes whole 32-byte stripes, `finish`
;; the tail (< 32 bytes) and the total length, and returns the hash.
;; Build: wat2wasm lib/util/xxh64.wat -o - | base64 -w0  → XXH64_WASM in lib/util/xxh64.ts
(module
  (memory (export "memory") 17)
  (global $v1 (mut i64) (i64.const 0))
  (global $v2 (mut i64) (i64.const 0))
  (global $v3 (mut i64) (i64.const 0))
  (global $v4 (mut i64) (i64.const 0))

  (func $round (param $acc i64) (param $lane i64) (result i64)
    (i64.mul
      (i64.rotl
        (i64.add (local.get $acc) (i64.mul (local.get $lane) (i64.const 0xC2B2AE3D27D4EB4F)))
        (i64.const 31))
      (i64.const 0x9E3779B185EBCA87)))

  (func $merge (param $acc i64) (param $v i64) (result i64)
    (i64.add
      (i64.mul
        (i64.xor (local.get $acc) (call $round (i64.const 0) (local.get $v)))
        (i64.const 0x9E3779B185EBCA87))
      (i64.const 0x85EBCA77C2B2AE63)))

  (func (export "reset")
    (global.set $v1 (i64.add (i64.const 0x9E3779B185EBCA87) (i64.const 0xC2B2AE3D27D4EB4F)))
    (global.set $v2 (i64.const 0xC2B2AE3D27D4EB4F))
    (global.set $v3 (i64.const 0))
    (global.set $v4 (i64.sub (i64.const 0) (i64.const 0x9E3779B185EBCA87))))

  ;; len: a multiple of 32
  (func (export "stripes") (param $len i32)
    (local $p i32) (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local.set $a (global.get $v1))
    (local.set $b (global.get $v2))
    (local.set $c (global.get $v3))
    (local.set $d (global.get $v4))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $len)))
        (local.set $a (call $round (local.get $a) (i64.load (local.get $p))))
        (local.set $b (call $round (local.get $b) (i64.load offset=8 (local.get $p))))
        (local.set $c (call $round (local.get $c) (i64.load offset=16 (local.get $p))))
        (local.set $d (call $round (local.get $d) (i64.load offset=24 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (br $next)))
    (global.set $v1 (local.get $a))
    (global.set $v2 (local.get $b))
    (global.set $v3 (local.get $c))
    (global.set $v4 (local.get $d)))

  ;; the tail at [0, rem), rem < 32; total: every byte hashed
  (func (export "finish") (param $rem i32) (param $total i64) (result i64)
    (local $h i64) (local $p i32)
    (if (i64.ge_u (local.get $total) (i64.const 32))
      (then
        (local.set $h
          (i64.add
            (i64.add (i64.rotl (global.get $v1) (i64.const 1)) (i64.rotl (global.get $v2) (i64.const 7)))
            (i64.add (i64.rotl (global.get $v3) (i64.const 12)) (i64.rotl (global.get $v4) (i64.const 18)))))
        (local.set $h (call $merge (local.get $h) (global.get $v1)))
        (local.set $h (call $merge (local.get $h) (global.get $v2)))
        (local.set $h (call $merge (local.get $h) (global.get $v3)))
        (local.set $h (call $merge (local.get $h) (global.get $v4))))
      (else (local.set $h (i64.const 0x27D4EB2F165667C5))))
    (local.set $h (i64.add (local.get $h) (local.get $total)))
    (block $d8
      (loop $l8
        (br_if $d8 (i32.gt_u (i32.add (local.get $p) (i32.const 8)) (local.get $rem)))
        (local.set $h
          (i64.add
            (i64.mul
              (i64.rotl
                (i64.xor (local.get $h) (call $round (i64.const 0) (i64.load (local.get $p))))
                (i64.const 27))
              (i64.const 0x9E3779B185EBCA87))
            (i64.const 0x85EBCA77C2B2AE63)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $l8)))
    (if (i32.le_u (i32.add (local.get $p) (i32.const 4)) (local.get $rem))
      (then
        (local.set $h
          (i64.add
            (i64.mul
              (i64.rotl
                (i64.xor (local.get $h)
                  (i64.mul (i64.load32_u (local.get $p)) (i64.const 0x9E3779B185EBCA87)))
                (i64.const 23))
              (i64.const 0xC2B2AE3D27D4EB4F))
            (i64.const 0x165667B19E3779F9)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))))
    (block $d1
      (loop $l1
        (br_if $d1 (i32.ge_u (local.get $p) (local.get $rem)))
        (local.set $h
          (i64.mul
            (i64.rotl
              (i64.xor (local.get $h) (i64.mul (i64.load8_u (local.get $p)) (i64.const 0x27D4EB2F165667C5)))
              (i64.const 11))
            (i64.const 0x9E3779B185EBCA87)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $l1)))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0xC2B2AE3D27D4EB4F)))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0x165667B19E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32)))))
