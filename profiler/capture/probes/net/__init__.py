"""The network family (bpf/net.c): what each traced fd is (socket addresses, file paths,
Unix peers), epoll registrations, and the peer class of every connection."""
