//! The simulation experiments: the HH vs s-LIF2HH chain, the XOR network and the fully
//! connected 784→128→10 network, with their spike metrics.
