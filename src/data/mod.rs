//! Datasets: the IDX reader, the Multi-MNIST composer and the downloader.
