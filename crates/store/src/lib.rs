//! Everything berth keeps on disk: the content store (blobs by digest), the overlay snapshotter
//! (returns mount lists, never mounts), the redb metadata database and garbage collection.
