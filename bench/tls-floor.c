/* The floor of a nothing-new POP3S poll: what the least a client can do costs on this machine.
 * For each account in turn: connect, a TLS handshake verified against CA_FILE and the host name
 * "localhost" (offering the previous connection's session, as mailcollector does; a server that
 * resumes none gets full handshakes), USER, PASS, STAT, QUIT. No ledger, no config, no threads,
 * no logging: bench/scale.sh runs it beside the tools on the same accounts, so that their client
 * CPU can be read against it.
 *
 *   tls-floor PORT CA_FILE FIRST LAST       (accounts aFIRST..aLAST with passwords pwFIRST..)
 *
 * Says on stderr how many handshakes resumed a session. Exits 1 at the first failure, naming it. Built by
 * bench/scale.sh (cc, libssl-dev). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char* what, int account) {
    fprintf(stderr, "tls-floor: a%d: %s\n", account, what);
    ERR_print_errors_fp(stderr);
    return 1;
}

/* Sends LINE (when not NULL) and reads one reply; true when it starts with "+OK". */
static int exchange(SSL* ssl, const char* line) {
    char reply[4096];
    if (line != NULL && SSL_write(ssl, line, (int)strlen(line)) <= 0) return 0;
    int n = SSL_read(ssl, reply, sizeof reply - 1);
    return n >= 3 && strncmp(reply, "+OK", 3) == 0;
}

int main(int argc, char** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: tls-floor PORT CA_FILE FIRST LAST\n");
        return 2;
    }
    const int port = atoi(argv[1]), first = atoi(argv[3]), last = atoi(argv[4]);
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    if (context == NULL || SSL_CTX_load_verify_file(context, argv[2]) != 1) return fail("cannot load the CA", 0);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set1_groups_list(context, "X25519:P-256");
    SSL_SESSION* session = NULL;
    int resumed = 0;
    for (int account = first; account <= last; ++account) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address = {0};
        address.sin_family = AF_INET;
        address.sin_port = htons((unsigned short)port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr*)&address, sizeof address) != 0) return fail("connect", account);
        SSL* ssl = SSL_new(context);
        SSL_set_fd(ssl, fd);
        SSL_set1_host(ssl, "localhost");
        SSL_set_tlsext_host_name(ssl, "localhost");
        if (session != NULL) SSL_set_session(ssl, session);
        if (SSL_connect(ssl) != 1) return fail("TLS handshake", account);
        resumed += SSL_session_reused(ssl);
        char user[64], pass[64];
        snprintf(user, sizeof user, "USER a%d\r\n", account);
        snprintf(pass, sizeof pass, "PASS pw%d\r\n", account);
        if (!exchange(ssl, NULL)) return fail("greeting", account);
        if (!exchange(ssl, user) || !exchange(ssl, pass)) return fail("login", account);
        if (!exchange(ssl, "STAT\r\n")) return fail("STAT", account);
        if (!exchange(ssl, "QUIT\r\n")) return fail("QUIT", account);
        SSL_SESSION* next = SSL_get1_session(ssl); /* TLS 1.3 tickets arrived with the replies */
        if (next != NULL && SSL_SESSION_is_resumable(next)) {
            SSL_SESSION_free(session);
            session = next;
        } else {
            SSL_SESSION_free(next);
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
    }
    SSL_SESSION_free(session);
    SSL_CTX_free(context);
    fprintf(stderr, "tls-floor: %d polls, %d of them resumed a TLS session\n", last - first + 1, resumed);
    return 0;
}
