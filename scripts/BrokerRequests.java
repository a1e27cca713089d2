/*
 * What a running Kafka broker answers, per second: requests by type, and bytes and messages
 * in per topic, over a sample of a few seconds (docs/BENCHMARKS.md, "Batched fetches").
 *
 *   java scripts/BrokerRequests.java $(pgrep -f 'kafka.Kafka ') 15
 *
 * Attaches to the broker's JVM on this machine (same user) and reads its JMX counters twice;
 * no JMX port is needed. Java runs this file as it is (no build step).
 */

import com.sun.tools.attach.VirtualMachine;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class BrokerRequests {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: java scripts/BrokerRequests.java BROKER_PID SECONDS");
      System.exit(2);
    }
    String address = VirtualMachine.attach(args[0]).startLocalManagementAgent();
    MBeanServerConnection broker =
        JMXConnectorFactory.connect(new JMXServiceURL(address)).getMBeanServerConnection();
    long seconds = Long.parseLong(args[1]);
    Map<String, Long> before = counters(broker);
    Thread.sleep(seconds * 1000);
    Map<String, Long> after = counters(broker);
    List<Map.Entry<String, Long>> rates = new ArrayList<>();
    after.forEach((name, count) -> rates.add(Map.entry(name, count - before.getOrDefault(name, 0L))));
    rates.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
    for (Map.Entry<String, Long> rate : rates) {
      if (rate.getValue() > 0) {
        System.out.printf("%12.1f/s  %s%n", rate.getValue() / (double) seconds, rate.getKey());
      }
    }
  }

  /** Requests by type, and bytes and messages in (all topics, and each topic). */
  static Map<String, Long> counters(MBeanServerConnection broker) throws Exception {
    Map<String, Long> counts = new TreeMap<>();
    ObjectName requests = new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
    for (ObjectName name : broker.queryNames(requests, null)) {
      counts.merge("requests " + name.getKeyProperty("request"), count(broker, name), Long::sum);
    }
    for (String metric : List.of("BytesInPerSec", "MessagesInPerSec")) {
      ObjectName topics = new ObjectName("kafka.server:type=BrokerTopicMetrics,name=" + metric + ",*");
      for (ObjectName name : broker.queryNames(topics, null)) {
        String topic = name.getKeyProperty("topic");
        counts.put(metric + " " + (topic == null ? "(all topics)" : topic), count(broker, name));
      }
    }
    return counts;
  }

  static long count(MBeanServerConnection broker, ObjectName name) throws Exception {
    return ((Number) broker.getAttribute(name, "Count")).longValue();
  }
}
