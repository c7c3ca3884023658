import CGSL
import Synchronization

/// One GSL generator, owned by exactly one stream and freed exactly once.
///
/// Streams are not `Sendable`: a stream belongs to one trial, and a trial runs on one thread.
public final class RandomStream {
    /// The generator; exposed so analysis code can hand it to GSL routines not wrapped here.
    public let rng: UnsafeMutablePointer<gsl_rng>
    /// The name this stream was derived from (for traces and error messages).
    public let name: String

    /// A Mersenne Twister seeded exactly as `gsl_rng_set(r, seed)` does: the kernel benchmark and the
    /// independent SimPy reference program (`tools/bench-vs-simpy.sh`) rely on this to agree bit for bit.
    public init(gslSeed seed: UInt, name: String = "") {
        GSLRuntime.prepare()
        let r = GeneratorPool.take()
        gsl_rng_set(r, seed)
        self.rng = r
        self.name = name
    }

    /// A Mersenne Twister keyed by an arbitrary list of 32-bit words, with Matsumoto and Nishimura's
    /// `init_by_array` (mt19937ar.c, 2002). `gsl_rng_set` keeps only 32 bits of its seed, so a million
    /// trials times dozens of named streams would collide by the birthday bound; `init_by_array` takes
    /// the whole (seed, trial, name) key.
    public init(key: [UInt32], name: String = "") {
        precondition(!key.isEmpty, "a stream key needs at least one word")
        GSLRuntime.prepare()
        let r = GeneratorPool.take()
        let state = cgsl_mt19937_state_of(r)!
        withUnsafeMutableBytes(of: &state.pointee.mt) { raw in
            let mt = raw.bindMemory(to: UInt.self)
            // init_genrand(19650218), the first half of init_by_array, is the same 624 words for every key:
            // copied from the state gsl_rng_set(r, 19650218) left once, not recomputed per stream.
            GeneratorPool.genrand19650218.withUnsafeBufferPointer { seeded in
                _ = mt.initialize(from: seeded)
            }
            // mt19937ar.c's arithmetic is on 32-bit words: wrapping UInt32 operations give the same words as
            // its 64-bit-then-masked ones, and the running previous word stays in a register.
            let n = 624
            let words = mt.baseAddress!
            key.withUnsafeBufferPointer { k in
                let keyWords = k.baseAddress!, m = k.count
                var i = 1, j = 0
                var prev = UInt32(truncatingIfNeeded: words[0])
                for _ in 0..<max(n, m) {
                    prev = (UInt32(truncatingIfNeeded: words[i]) ^ ((prev ^ (prev >> 30)) &* 1_664_525)) &+ keyWords[j]
                        &+ UInt32(truncatingIfNeeded: j)
                    words[i] = UInt(prev)
                    i &+= 1; j &+= 1
                    if i >= n { words[0] = words[n - 1]; i = 1 }
                    if j >= m { j = 0 }
                }
                for _ in 0..<(n - 1) {
                    prev = (UInt32(truncatingIfNeeded: words[i]) ^ ((prev ^ (prev >> 30)) &* 1_566_083_941))
                        &- UInt32(truncatingIfNeeded: i)
                    words[i] = UInt(prev)
                    i &+= 1
                    if i >= n { words[0] = words[n - 1]; i = 1 }
                }
            }
            mt[0] = 0x8000_0000
        }
        state.pointee.mti = 624
        self.rng = r
        self.name = name
    }

    deinit { GeneratorPool.give(rng) }

    /// Raw 32-bit output (`gsl_rng_get`).
    @inline(__always) public func nextUInt32() -> UInt32 { UInt32(truncatingIfNeeded: gsl_rng_get(rng)) }
    /// Uniform on [0, 1).
    @inline(__always) public func uniform() -> Double { gsl_rng_uniform(rng) }
    /// Uniform on (0, 1).
    @inline(__always) public func uniformPositive() -> Double { gsl_rng_uniform_pos(rng) }
    /// Uniform on [a, b).
    @inline(__always) public func uniform(_ a: Double, _ b: Double) -> Double { gsl_ran_flat(rng, a, b) }
    /// Uniform integer in 0..<n.
    @inline(__always) public func uniformInt(_ n: Int) -> Int {
        precondition(n > 0 && n <= Int(UInt32.max))
        return Int(gsl_rng_uniform_int(rng, UInt(n)))
    }
    /// Gaussian with mean 0 and standard deviation `sigma` (ziggurat, Marsaglia & Tsang 2000).
    @inline(__always) public func gaussian(sigma: Double = 1) -> Double { gsl_ran_gaussian_ziggurat(rng, sigma) }
    /// Gaussian with the given mean and standard deviation.
    @inline(__always) public func gaussian(mean: Double, sigma: Double) -> Double {
        mean + gsl_ran_gaussian_ziggurat(rng, sigma)
    }
    /// Exponential with the given mean (`gsl_ran_exponential`: −mean·log1p(−u)).
    @inline(__always) public func exponential(mean: Double) -> Double { gsl_ran_exponential(rng, mean) }
    /// Poisson count with mean `mu`.
    @inline(__always) public func poisson(_ mu: Double) -> UInt32 { gsl_ran_poisson(rng, mu) }
    /// Gamma with shape `k` and scale `theta`.
    @inline(__always) public func gamma(shape k: Double, scale theta: Double) -> Double { gsl_ran_gamma(rng, k, theta) }
    /// Log-normal whose logarithm has mean `zeta` and standard deviation `sigma`.
    @inline(__always) public func lognormal(zeta: Double, sigma: Double) -> Double { gsl_ran_lognormal(rng, zeta, sigma) }
    /// Bernoulli trial: true with probability `p`.
    @inline(__always) public func bernoulli(_ p: Double) -> Bool { gsl_ran_bernoulli(rng, p) == 1 }
    /// Geometric: number of trials up to and including the first success of probability `p`.
    @inline(__always) public func geometric(_ p: Double) -> UInt32 { gsl_ran_geometric(rng, p) }
    /// Binomial count of successes in `n` trials of probability `p`.
    @inline(__always) public func binomial(p: Double, n: UInt32) -> UInt32 { gsl_ran_binomial(rng, p, n) }
    /// Student-t with `nu` degrees of freedom.
    @inline(__always) public func studentT(nu: Double) -> Double { gsl_ran_tdist(rng, nu) }

    /// Fisher-Yates shuffle with GSL's `gsl_ran_shuffle` order.
    public func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        var idx = Array(0..<values.count)
        idx.withUnsafeMutableBufferPointer { p in
            gsl_ran_shuffle(rng, p.baseAddress, p.count, MemoryLayout<Int>.stride)
        }
        values = idx.map { values[$0] }
    }
}

/// Mersenne Twister generators of finished streams, kept for the next trial's streams: a trial opens
/// about ten streams, and allocating each (which also seeds it, a 624-word loop that `init_by_array` then
/// overwrites) cost as much as keying it. A reused generator is reseeded in full (all 624 words and the
/// index) by `gsl_rng_set` or by `RandomStream(key:)`, so what it draws does not depend on its past.
enum GeneratorPool {
    /// A generator in the pool belongs to no stream and no thread.
    struct Idle: @unchecked Sendable { let r: UnsafeMutablePointer<gsl_rng> }
    private static let free = Mutex<[Idle]>([])
    /// Enough for the streams of the trials in flight on a few threads; more are freed.
    static let capacity = 256

    /// The MT19937 state words after init_genrand(19650218) (`gsl_rng_set(r, 19650218)`).
    static let genrand19650218: [UInt] = {
        let r = take()
        defer { give(r) }
        gsl_rng_set(r, 19_650_218)
        let state = cgsl_mt19937_state_of(r)!
        return withUnsafeBytes(of: &state.pointee.mt) { Array($0.bindMemory(to: UInt.self)) }
    }()

    static func take() -> UnsafeMutablePointer<gsl_rng> {
        if let idle = free.withLock({ $0.popLast() }) { return idle.r }
        guard let r = gsl_rng_alloc(cgsl_rng_mt19937()) else { fatalError("gsl_rng_alloc failed: out of memory") }
        return r
    }

    static func give(_ r: UnsafeMutablePointer<gsl_rng>) {
        let idle = Idle(r: r)
        let kept = free.withLock { f -> Bool in
            guard f.count < capacity else { return false }
            f.append(idle)
            return true
        }
        if !kept { gsl_rng_free(r) }
    }
}

/// Process-wide GSL settings, applied once before the first GSL call.
public enum GSLRuntime {
    private static let prepared: Bool = {
        cgsl_disable_abort_on_error()
        return true
    }()

    /// Turns off GSL's abort-on-error handler (Obsim checks status codes), exactly once.
    public static func prepare() { _ = prepared }
}

/// Where every model's randomness comes from: independent named streams keyed by
/// (master seed, trial index, stream name).
///
/// Derivation (documented so other tools can reproduce it): the key words are
/// `[seed & 0xffffffff, seed >> 32, trial & 0xffffffff, trial >> 32, byteCount(name), utf8(name) packed
/// little-endian four bytes per word, zero-padded]`, fed to MT19937's `init_by_array`. Different
/// (seed, trial, name) triples give different keys, so streams never alias; each name owns its generator,
/// so drawing more from one stream never changes another, and adding a model adds a stream without
/// disturbing the existing ones. That is what makes common-random-number comparisons meaningful.
public final class RandomStreams {
    public let masterSeed: UInt64
    public let trial: UInt64
    private var streams: [String: RandomStream] = [:]

    public init(masterSeed: UInt64, trial: UInt64) {
        self.masterSeed = masterSeed
        self.trial = trial
    }

    /// The stream with this name, created on first use.
    public func stream(_ name: String) -> RandomStream {
        if let s = streams[name] { return s }
        let s = RandomStream(key: Self.key(masterSeed: masterSeed, trial: trial, name: name), name: name)
        streams[name] = s
        return s
    }

    /// The `init_by_array` key of a named stream (see the type's documentation).
    public static func key(masterSeed: UInt64, trial: UInt64, name: String) -> [UInt32] {
        key(prefix: [
            UInt32(truncatingIfNeeded: masterSeed), UInt32(truncatingIfNeeded: masterSeed >> 32),
            UInt32(truncatingIfNeeded: trial), UInt32(truncatingIfNeeded: trial >> 32),
        ], name: name)
    }

    /// `prefix`, then the byte count of `name`, then its UTF-8 bytes packed little-endian four to a word
    /// (zero-padded): the length word keeps names that differ only by trailing NULs apart.
    public static func key(prefix: [UInt32], name: String) -> [UInt32] {
        let bytes = Array(name.utf8)
        var words = prefix
        words.append(UInt32(bytes.count))
        var i = 0
        while i < bytes.count {
            var w: UInt32 = 0
            for b in 0..<4 where i + b < bytes.count { w |= UInt32(bytes[i + b]) << (8 * UInt32(b)) }
            words.append(w)
            i += 4
        }
        return words
    }
}
