package io.jcni.netlink.nft;

/** nf_tables / nfnetlink constants (linux/netfilter/nf_tables.h, nfnetlink.h) used by this package. */
final class Nft {
    private Nft() {}

    static final int NFNL_SUBSYS_NFTABLES = 10;
    static final int NFNL_MSG_BATCH_BEGIN = 0x10, NFNL_MSG_BATCH_END = 0x11;
    static final int NFGENMSG_LEN = 4;

    // enum nf_tables_msg_types
    static final int NFT_MSG_NEWTABLE = 0,
            NFT_MSG_GETTABLE = 1,
            NFT_MSG_DELTABLE = 2,
            NFT_MSG_NEWCHAIN = 3,
            NFT_MSG_GETCHAIN = 4,
            NFT_MSG_DELCHAIN = 5,
            NFT_MSG_NEWRULE = 6,
            NFT_MSG_GETRULE = 7,
            NFT_MSG_DELRULE = 8,
            NFT_MSG_NEWSET = 9,
            NFT_MSG_GETSET = 10,
            NFT_MSG_DELSET = 11,
            NFT_MSG_NEWSETELEM = 12,
            NFT_MSG_GETSETELEM = 13,
            NFT_MSG_DELSETELEM = 14;
    static final int NFTA_TABLE_NAME = 1, NFTA_TABLE_FLAGS = 2, NFTA_TABLE_HANDLE = 4;
    static final int NFTA_CHAIN_TABLE = 1,
            NFTA_CHAIN_HANDLE = 2,
            NFTA_CHAIN_NAME = 3,
            NFTA_CHAIN_HOOK = 4,
            NFTA_CHAIN_POLICY = 5,
            NFTA_CHAIN_TYPE = 7;
    static final int NFTA_HOOK_HOOKNUM = 1, NFTA_HOOK_PRIORITY = 2;
    static final int NFTA_RULE_TABLE = 1,
            NFTA_RULE_CHAIN = 2,
            NFTA_RULE_HANDLE = 3,
            NFTA_RULE_EXPRESSIONS = 4,
            NFTA_RULE_USERDATA = 7;
    static final int NFTA_LIST_ELEM = 1;
    static final int NFTA_EXPR_NAME = 1, NFTA_EXPR_DATA = 2;
    static final int NFTA_SET_TABLE = 1,
            NFTA_SET_NAME = 2,
            NFTA_SET_FLAGS = 3,
            NFTA_SET_KEY_TYPE = 4,
            NFTA_SET_KEY_LEN = 5,
            NFTA_SET_DATA_TYPE = 6,
            NFTA_SET_DATA_LEN = 7,
            NFTA_SET_ID = 10,
            NFTA_SET_DESC = 9,
            NFTA_SET_USERDATA = 13,
            NFTA_SET_HANDLE = 16;
    static final int NFT_SET_ANONYMOUS = 0x1, NFT_SET_INTERVAL = 0x4, NFT_SET_MAP = 0x8, NFT_SET_CONCAT = 0x80;
    /** NFTA_SET_DESC's nested NFTA_SET_DESC_CONCAT: one NFTA_LIST_ELEM { NFTA_SET_FIELD_LEN } per field. */
    static final int NFTA_SET_DESC_CONCAT = 2, NFTA_SET_FIELD_LEN = 1;
    /** libnftnl's NFTNL_UDATA_SET_KEYBYTEORDER / _DATABYTEORDER, and nft's BYTEORDER_BIG_ENDIAN. */
    static final int UDATA_SET_KEYBYTEORDER = 0, UDATA_SET_DATABYTEORDER = 1, BYTEORDER_BIG_ENDIAN = 2;
    /** libnftnl's NFTNL_UDATA_SET_ELEM_COMMENT. */
    static final int UDATA_SET_ELEM_COMMENT = 0;
    /** libnftnl's NFTNL_UDATA_RULE_COMMENT; nft caps comments at 128 bytes. */
    static final int UDATA_RULE_COMMENT = 0, COMMENT_MAXLEN = 128;

    static final int NFTA_SET_ELEM_LIST_TABLE = 1, NFTA_SET_ELEM_LIST_SET = 2, NFTA_SET_ELEM_LIST_ELEMENTS = 3;
    static final int NFTA_SET_ELEM_KEY = 1,
            NFTA_SET_ELEM_DATA = 2,
            NFTA_SET_ELEM_FLAGS = 3,
            NFTA_SET_ELEM_USERDATA = 6,
            NFTA_SET_ELEM_KEY_END = 10;
    static final int NFT_SET_ELEM_INTERVAL_END = 1;
    static final int NFTA_DATA_VALUE = 1, NFTA_DATA_VERDICT = 2;
    static final int NFTA_VERDICT_CODE = 1, NFTA_VERDICT_CHAIN = 2;

    // verdicts
    static final int NF_DROP = 0, NF_ACCEPT = 1, NFT_JUMP = -3, NFT_RETURN = -5;

    // registers
    static final int NFT_REG_VERDICT = 0, NFT_REG_1 = 1, NFT_REG_2 = 2, NFT_REG32_00 = 8;

    // expressions
    static final int NFTA_IMMEDIATE_DREG = 1, NFTA_IMMEDIATE_DATA = 2;
    static final int NFTA_BITWISE_SREG = 1,
            NFTA_BITWISE_DREG = 2,
            NFTA_BITWISE_LEN = 3,
            NFTA_BITWISE_MASK = 4,
            NFTA_BITWISE_XOR = 5;
    static final int NFTA_CMP_SREG = 1, NFTA_CMP_OP = 2, NFTA_CMP_DATA = 3;
    static final int NFT_CMP_EQ = 0, NFT_CMP_NEQ = 1;
    static final int NFTA_LOOKUP_SET = 1,
            NFTA_LOOKUP_SREG = 2,
            NFTA_LOOKUP_DREG = 3,
            NFTA_LOOKUP_FLAGS = 5,
            NFT_LOOKUP_F_INV = 1;
    static final int NFTA_PAYLOAD_DREG = 1, NFTA_PAYLOAD_BASE = 2, NFTA_PAYLOAD_OFFSET = 3, NFTA_PAYLOAD_LEN = 4;
    static final int NFT_PAYLOAD_LL_HEADER = 0, NFT_PAYLOAD_NETWORK_HEADER = 1, NFT_PAYLOAD_TRANSPORT_HEADER = 2;
    static final int NFTA_META_DREG = 1, NFTA_META_KEY = 2;
    static final int NFT_META_IIFNAME = 6, NFT_META_OIFNAME = 7, NFT_META_NFPROTO = 15, NFT_META_L4PROTO = 16;
    static final int NFTA_CT_DREG = 1, NFTA_CT_KEY = 2, NFT_CT_STATUS = 2;
    /** IPS_DST_NAT: the connection was destination-NATed (ct status dnat). */
    static final int IPS_DST_NAT = 0x20;

    static final int NFTA_NAT_TYPE = 1, NFTA_NAT_FAMILY = 2, NFTA_NAT_REG_ADDR_MIN = 3, NFTA_NAT_REG_PROTO_MIN = 5;
    static final int NFT_NAT_DNAT = 1;
    static final int NFTA_FIB_DREG = 1, NFTA_FIB_RESULT = 2, NFTA_FIB_FLAGS = 3;
    static final int NFT_FIB_RESULT_ADDRTYPE = 3, NFTA_FIB_F_DADDR = 2, RTN_LOCAL = 2;

    // netfilter hooks
    static final String[] HOOKS = {"prerouting", "input", "forward", "output", "postrouting"};

    static int msgType(int msg) {
        return (NFNL_SUBSYS_NFTABLES << 8) | msg;
    }
}
