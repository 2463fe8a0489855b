import LinearAlgebra

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One Adam/AdamW element update, shared by the sparse and the dense optimiser.
/// `rate` is the step's bias-corrected learning rate (`AdamRule.rate`).
@inline(__always)
func adamUpdate(weight w: inout Float, gradient g: Float, first m: inout Float, second v: inout Float,
                beta1: Float, beta2: Float, epsilon: Float, learningRate: Float, weightDecay: Float, rate: Float) {
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    if weightDecay > 0 { w -= learningRate * weightDecay * w }
    w -= rate * m / (v.squareRoot() + epsilon)
}

/// Adam's bias-corrected step size at `step` (from 1).
@inline(__always)
func adamRate(learningRate: Float, beta1: Float, beta2: Float, step: Int) -> Float {
    learningRate * (1 - powf(beta2, Float(step))).squareRoot() / (1 - powf(beta1, Float(step)))
}
