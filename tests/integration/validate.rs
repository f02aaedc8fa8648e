//! `cutover validate`: good files pass, every kind of bad input points into the file.
