;; The bulk of the internet checksum with WebAssembly SIMD, 32 bytes a step: each 16-byte load is
;; split into eight little-endian u16 lanes and added pairwise into four u32 lanes. A u32 lane gains
;; at most 2 × 0xffff a step, so 32768 steps (1 MiB) fit; callers pass at most 64 KiB at a time.
;; Compiled to checksum-wasm.ts by scripts/build-checksum-wasm.mjs (wabt); a test checks the
;; committed bytes against this source.
(module
  (memory (export "memory") 2)
  ;; One's complement partial sum of bytes [ptr, ptr+len) read as little-endian 16-bit words,
  ;; folded to at most 17 bits (the caller folds and byte-swaps). len must be a multiple of 32.
  (func (export "sum32") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32) (local $acc0 v128) (local $acc1 v128) (local $v v128)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $acc0 (i32x4.add (local.get $acc0)
          (i32x4.extadd_pairwise_i16x8_u (v128.load (local.get $ptr)))))
        (local.set $acc1 (i32x4.add (local.get $acc1)
          (i32x4.extadd_pairwise_i16x8_u (v128.load offset=16 (local.get $ptr)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 32)))
        (br $loop)))
    (local.set $v (i64x2.add
      (i64x2.extend_low_i32x4_u (local.get $acc0))
      (i64x2.extend_high_i32x4_u (local.get $acc0))))
    (local.set $v (i64x2.add (local.get $v) (i64x2.add
      (i64x2.extend_low_i32x4_u (local.get $acc1))
      (i64x2.extend_high_i32x4_u (local.get $acc1)))))
    (local.set $v (i64x2.splat (i64.add (i64x2.extract_lane 0 (local.get $v)) (i64x2.extract_lane 1 (local.get $v)))))
    ;; fold the 64-bit sum to 32 bits with end-around carry (twice is enough)
    (i32.wrap_i64 (call $fold64 (i64x2.extract_lane 0 (local.get $v)))))
  (func $fold64 (param $x i64) (result i64)
    (local.set $x (i64.add (i64.and (local.get $x) (i64.const 0xffff)) (i64.shr_u (local.get $x) (i64.const 16))))
    (local.set $x (i64.add (i64.and (local.get $x) (i64.const 0xffff)) (i64.shr_u (local.get $x) (i64.const 16))))
    (local.set $x (i64.add (i64.and (local.get $x) (i64.const 0xffff)) (i64.shr_u (local.get $x) (i64.const 16))))
    (i64.add (i64.and (local.get $x) (i64.const 0xffff)) (i64.shr_u (local.get $x) (i64.const 16))))
)
