declare module 'fft.js' {
  /** Radix-4 FFT (fft.js). Complex arrays are interleaved [re, im, re, im, …]; typed arrays work too. */
  export default class FFT {
    constructor(size: number);
    readonly size: number;
    createComplexArray(): number[];
    toComplexArray(input: ArrayLike<number>, storage?: number[]): number[];
    completeSpectrum(spectrum: number[] | Float64Array): void;
    transform(out: number[] | Float64Array, data: number[] | Float64Array): void;
    realTransform(out: number[] | Float64Array, data: number[] | Float64Array): void;
    /** Inverse transform, divided by size. */
    inverseTransform(out: number[] | Float64Array, data: number[] | Float64Array): void;
  }
}
