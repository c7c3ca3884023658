import CGSL

/// exp through GSL (Foundation-free; the Optics models run inside trials).
@inline(__always) func gslExp(_ x: Double) -> Double { x < -700 ? 0 : gsl_sf_exp(x) }
