/*
 * What ksqlDB's DELIMITED reader costs per raw line, with and without biased locking
 * (docs/BENCHMARKS.md, "Biased locking"):
 *
 *   CSV=~/.cache/fraud-detection/ksqldb-7.9.0/libs/commons-csv-1.4.jar
 *   java -cp $CSV scripts/CsvReaderLocking.java
 *   java -XX:+UseBiasedLocking -cp $CSV scripts/CsvReaderLocking.java
 *
 * Parses one line of transactions.raw the way ksqlDB 7.9's KsqlDelimitedDeserializer does (a
 * new commons-csv parser per record, CSVFormat.DEFAULT with a comma), then the same line split
 * on commas with its numbers parsed, for comparison. Java runs this file as it is.
 */

import java.lang.management.ManagementFactory;
import java.util.List;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

public class CsvReaderLocking {
  // ID, TS, USER_ID, TIME, V1..V28, AMOUNT, CLASS: the columns of ksql/transactions_raw.sql
  static final String LINE = "1,2018-12-18T12:00:00Z,user-0042,0,"
      + "-1.3598071336738,-0.0727811733098497,2.53634673796914,1.37815522427443,"
      + "-0.338320769942518,0.462387777762292,0.239598554061257,0.0986979012610507,"
      + "0.363786969611213,0.0907941719789316,-0.551599533260813,-0.617800855762348,"
      + "-0.991389847235408,-0.311169353699879,1.46817697209427,-0.470400525259478,"
      + "0.207971241929242,0.0257905801985591,0.403992960255733,0.251412098239705,"
      + "-0.018306777944153,0.277837575558899,-0.110473910188767,0.0669280749146731,"
      + "0.128539358273528,-0.189114843888824,0.133558376740387,-0.0210530534538215,"
      + "149.62,0";
  static final int LINES = 200_000;

  public static void main(String[] args) throws Exception {
    String biased = ManagementFactory.getPlatformMXBean(
        com.sun.management.HotSpotDiagnosticMXBean.class).getVMOption("UseBiasedLocking").getValue();
    CSVFormat format = CSVFormat.DEFAULT.withDelimiter(',');
    if (CSVParser.parse(LINE, format).getRecords().get(0).size() != 34) {
      throw new IllegalStateException("the line should have the 34 columns of transactions.raw");
    }
    System.out.printf("Java %s, UseBiasedLocking=%s, %,d lines a round%n",
        System.getProperty("java.version"), biased, LINES);
    double sink = 0;
    for (int round = 1; round <= 6; round++) {  // the first rounds warm the JIT up
      long start = System.nanoTime();
      for (int i = 0; i < LINES; i++) {
        List<CSVRecord> records = CSVParser.parse(LINE, format).getRecords();
        sink += records.get(0).get(4).length();
      }
      long parsed = System.nanoTime();
      for (int i = 0; i < LINES; i++) {
        String[] fields = LINE.split(",", -1);
        for (int j = 3; j <= 32; j++) {
          sink += Double.parseDouble(fields[j]);
        }
      }
      long split = System.nanoTime();
      System.out.printf("round %d: commons-csv %.2f us/line; split and parse %.2f us/line%n",
          round, (parsed - start) / 1e3 / LINES, (split - parsed) / 1e3 / LINES);
    }
    if (sink == 42) {
      System.out.println();  // keeps the loops' results alive
    }
  }
}
