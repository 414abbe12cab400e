;; The per-frame HSV kernel of the content detector, 4 pixels a step in WebAssembly SIMD.
;; Same values as hsvAndDiff in frame-metrics.ts (OpenCV's 8-bit HSV: H 0-179, S and V 0-255, rounding half up);
;; the JavaScript kernel stays as the reference and the fallback. Built into hsv-kernel-wasm.ts by
;; `npx tsx scripts/build-wasm.ts`; a test checks the two agree.
;;
;; score(rgb, out, prev, n): for n pixels (a multiple of 4) of packed RGB24 at `rgb` (readable 4 bytes past the
;; end), writes the HSV frame (one word a pixel: H | S << 8 | V << 16) at `out` and leaves four i32x4 lane sums
;; at address 0: R+G+B, |dH|, |dS|, |dV| against the frame at `prev` (which may be `out` when there is none; the
;; differences are then meaningless). Lanes cannot overflow for n up to 2^20 pixels; the caller chunks.
(module
  (memory (export "memory") 1)
  (func (export "score") (param $rgb i32) (param $out i32) (param $prev i32) (param $n i32)
    (local $i i32)
    (local $v v128) (local $r v128) (local $g v128) (local $b v128)
    (local $max v128) (local $d v128) (local $isR v128) (local $isG v128)
    (local $x v128) (local $h v128) (local $s v128) (local $q v128)
    (local $accRgb v128) (local $accH v128) (local $accS v128) (local $accV v128)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; 16 bytes hold pixels i..i+3 (12 bytes); spread each channel into its own i32 lanes.
        (local.set $v (v128.load (i32.add (local.get $rgb) (i32.mul (local.get $i) (i32.const 3)))))
        (local.set $r (i8x16.swizzle (local.get $v) (v128.const i8x16 0 16 16 16 3 16 16 16 6 16 16 16 9 16 16 16)))
        (local.set $g (i8x16.swizzle (local.get $v) (v128.const i8x16 1 16 16 16 4 16 16 16 7 16 16 16 10 16 16 16)))
        (local.set $b (i8x16.swizzle (local.get $v) (v128.const i8x16 2 16 16 16 5 16 16 16 8 16 16 16 11 16 16 16)))
        (local.set $accRgb (i32x4.add (local.get $accRgb) (i32x4.add (local.get $r) (i32x4.add (local.get $g) (local.get $b)))))
        (local.set $max (i32x4.max_s (local.get $r) (i32x4.max_s (local.get $g) (local.get $b))))
        (local.set $d (i32x4.sub (local.get $max) (i32x4.min_s (local.get $r) (i32x4.min_s (local.get $g) (local.get $b)))))
        ;; The largest channel with OpenCV's tie order (R before G before B) picks the hue's sector.
        (local.set $isR (v128.and (i32x4.ge_s (local.get $r) (local.get $g)) (i32x4.ge_s (local.get $r) (local.get $b))))
        (local.set $isG (v128.andnot (i32x4.ge_s (local.get $g) (local.get $b)) (local.get $isR)))
        (local.set $x
          (v128.bitselect
            (i32x4.sub (local.get $g) (local.get $b))
            (v128.bitselect (i32x4.sub (local.get $b) (local.get $r)) (i32x4.sub (local.get $r) (local.get $g)) (local.get $isG))
            (local.get $isR)))
        ;; h = sector * 60 + round(30 x / d). Exact in f32: 30 x / d is never within 1/510 of a half but at one.
        ;; d = 0 gives 0/0, which truncates to 0, and then R is the sector: h = 0 as in OpenCV.
        (local.set $h
          (i32x4.add
            (v128.bitselect
              (v128.const i32x4 0 0 0 0)
              (v128.bitselect (v128.const i32x4 60 60 60 60) (v128.const i32x4 120 120 120 120) (local.get $isG))
              (local.get $isR))
            (i32x4.trunc_sat_f32x4_s
              (f32x4.floor
                (f32x4.add
                  (f32x4.div
                    (f32x4.mul (f32x4.convert_i32x4_s (local.get $x)) (v128.const f32x4 30 30 30 30))
                    (f32x4.convert_i32x4_s (local.get $d)))
                  (v128.const f32x4 0.5 0.5 0.5 0.5))))))
        (local.set $h (i32x4.add (local.get $h) (v128.and (i32x4.lt_s (local.get $h) (v128.const i32x4 0 0 0 0)) (v128.const i32x4 180 180 180 180))))
        ;; s = round(255 d / max); max = 0 means d = 0 and 0/0, which truncates to 0.
        (local.set $s
          (i32x4.trunc_sat_f32x4_s
            (f32x4.floor
              (f32x4.add
                (f32x4.div
                  (f32x4.mul (f32x4.convert_i32x4_s (local.get $d)) (v128.const f32x4 255 255 255 255))
                  (f32x4.convert_i32x4_s (local.get $max)))
                (v128.const f32x4 0.5 0.5 0.5 0.5)))))
        ;; Read the previous frame before writing: prev may be out.
        (local.set $q (v128.load (i32.add (local.get $prev) (i32.shl (local.get $i) (i32.const 2)))))
        (v128.store
          (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (v128.or (local.get $h) (v128.or (i32x4.shl (local.get $s) (i32.const 8)) (i32x4.shl (local.get $max) (i32.const 16)))))
        (local.set $accH (i32x4.add (local.get $accH)
          (i32x4.abs (i32x4.sub (local.get $h) (v128.and (local.get $q) (v128.const i32x4 255 255 255 255))))))
        (local.set $accS (i32x4.add (local.get $accS)
          (i32x4.abs (i32x4.sub (local.get $s) (v128.and (i32x4.shr_u (local.get $q) (i32.const 8)) (v128.const i32x4 255 255 255 255))))))
        (local.set $accV (i32x4.add (local.get $accV)
          (i32x4.abs (i32x4.sub (local.get $max) (i32x4.shr_u (local.get $q) (i32.const 16))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (v128.store (i32.const 0) (local.get $accRgb))
    (v128.store (i32.const 16) (local.get $accH))
    (v128.store (i32.const 32) (local.get $accS))
    (v128.store (i32.const 48) (local.get $accV))))
