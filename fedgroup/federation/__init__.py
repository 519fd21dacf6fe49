"""The endpoints other servers call: ActivityPub actors, inboxes, collections and objects; WebFinger and NodeInfo."""
