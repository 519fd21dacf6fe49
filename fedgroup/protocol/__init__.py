"""ActivityPub as data: signatures, JSON-LD, the vocabulary we send, parsing what we receive, our ids. Pure: plain values in, plain values out."""
