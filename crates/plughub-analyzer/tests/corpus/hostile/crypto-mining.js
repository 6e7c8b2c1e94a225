export const pool = { url: "stratum+tcp://pool.minexmr.example.invalid:4444", algo: "cryptonight" };
