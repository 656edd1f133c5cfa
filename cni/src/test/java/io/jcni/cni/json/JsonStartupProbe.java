package io.jcni.cni.json;

import io.jcni.cni.CniVersion;
import io.jcni.cni.Result;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * bench/json-startup.sh: what the JSON layer costs a fresh plugin process. "noop" returns at
 * once; "json" parses a typical bridge configuration and writes a typical result, as one ADD does.
 */
public final class JsonStartupProbe {
    private JsonStartupProbe() {}

    static final String CONFIG = """
            {"cniVersion":"1.1.0","name":"net1","type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,
             "mtu":1500,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.22.0.0/16"}]],"routes":[{"dst":"0.0.0.0/0"}]},
             "prevResult":{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mac":"02:00:00:00:00:01","sandbox":"/run/netns/x"}],
             "ips":[{"interface":0,"address":"10.22.0.5/16","gateway":"10.22.0.1"}]}}""";

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("noop")) {
            System.out.println(0);
            return;
        }
        Map<String, Object> conf = Json.parseObject(CONFIG.getBytes(StandardCharsets.UTF_8));
        @SuppressWarnings("unchecked")
        Result r = Result.parse((Map<String, Object>) conf.get("prevResult"), "prevResult");
        System.out.println(Json.writeIndented(r.toJson(CniVersion.V040)).length());
    }
}
