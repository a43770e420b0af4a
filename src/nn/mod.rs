//! Spiking layers and the ten two-task classifiers, in candle.
