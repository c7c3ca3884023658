/// An exact sum of doubles: every finite double is an integer multiple of 2^-1074, so a wide enough
/// fixed-point integer holds any sum of them exactly. Addition is then associative and commutative, and a
/// sum does not depend on the order of its terms: this is what makes means and variances byte-identical
/// whatever the thread count or shard split.
public struct ExactSum: Sendable, Equatable {
    /// Base-2^32 limbs, least significant first; limb i weighs 2^(32·i − 1074). Each limb is kept in
    /// [0, 2^32) after `normalize` except the top one, which carries the sign.
    public private(set) var limbs: [Int64]
    var pending = 0

    static let limbCount = 72  // 72 × 32 = 2304 bits ≥ 1074 + 1024 + headroom for 2^64 terms
    static let normalizeEvery = 1 << 20  // 3 limbs of at most 2^32 each per add: 2^20 adds never overflow Int64

    public init() { limbs = [Int64](repeating: 0, count: Self.limbCount) }

    public init(limbs: [Int64]) {
        precondition(limbs.count == Self.limbCount)
        self.limbs = limbs
    }

    public static func == (a: ExactSum, b: ExactSum) -> Bool {
        var x = a, y = b
        x.normalize(); y.normalize()
        return x.limbs == y.limbs
    }

    /// Adds `x` exactly (non-finite values are the caller's to exclude).
    public mutating func add(_ x: Double) {
        guard x != 0, x.isFinite else { return }
        // x = ±significand × 2^(exponent − 52) with a 53-bit integer significand; subnormals have exponent −1022.
        let bits = x.bitPattern
        let biased = Int((bits >> 52) & 0x7FF)
        var mantissa = bits & 0x000F_FFFF_FFFF_FFFF
        let shiftFromBottom: Int
        if biased == 0 { shiftFromBottom = 0 } else { mantissa |= 1 << 52; shiftFromBottom = biased - 1 }
        let limb = shiftFromBottom / 32
        let shift = shiftFromBottom % 32
        let negative = x.sign == .minus
        // mantissa << shift spans at most 85 bits: three limbs.
        let low = (mantissa << UInt64(shift)) & 0xFFFF_FFFF
        let mid = (mantissa >> UInt64(32 - shift)) & 0xFFFF_FFFF
        let high = shift == 0 ? 0 : mantissa >> UInt64(64 - shift)
        let midValue = shift == 0 ? (mantissa >> 32) : mid
        // Three limbs updated in place: no array of parts is allocated (three adds per value of every
        // metric of every trial). Adding a zero part changes nothing, so no test for one is needed.
        let p0 = Int64(low), p1 = Int64(midValue), p2 = Int64(shift == 0 ? 0 : high)
        limbs.withUnsafeMutableBufferPointer { l in
            if negative {
                l[limb] -= p0; l[limb + 1] -= p1; l[limb + 2] -= p2
            } else {
                l[limb] += p0; l[limb + 1] += p1; l[limb + 2] += p2
            }
        }
        pending += 1
        if pending >= Self.normalizeEvery { normalize() }
    }

    /// Adds another exact sum.
    public mutating func add(_ other: ExactSum) {
        var o = other
        o.normalize()
        normalize()
        for i in 0..<Self.limbCount { limbs[i] += o.limbs[i] }
        normalize()
    }

    /// Carries so every limb but the top is in [0, 2^32).
    public mutating func normalize() {
        var carry: Int64 = 0
        for i in 0..<(Self.limbCount - 1) {
            let v = limbs[i] + carry
            let r = v & 0xFFFF_FFFF
            limbs[i] = r
            carry = (v - r) >> 32
        }
        limbs[Self.limbCount - 1] += carry
        pending = 0
    }

    /// The sum rounded to a double: a deterministic function of the exact value (within a few ulps of it).
    public var value: Double {
        var s = self
        s.normalize()
        // A negative sum sits in two's-complement form (top limb −1): convert its magnitude instead.
        let negative = s.limbs[Self.limbCount - 1] < 0
        if negative {
            for i in 0..<Self.limbCount { s.limbs[i] = -s.limbs[i] }
            s.normalize()
        }
        var result = 0.0
        // From the most significant limb down, so the small limbs are added to an already large value.
        for i in stride(from: Self.limbCount - 1, through: 0, by: -1) where s.limbs[i] != 0 {
            result += Double(s.limbs[i]) * scale(i)
        }
        return negative ? -result : result
    }

    /// 2^(32·i − 1074), built without overflow or underflow of intermediate values.
    func scale(_ i: Int) -> Double {
        let e = 32 * i - 1074
        return Double(sign: .plus, exponent: e, significand: 1)
    }
}
