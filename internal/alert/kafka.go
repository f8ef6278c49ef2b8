package alert

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Kafka produces each alert as a JSON record (the webhook's body) to a
// topic, keyed by the rule's name, and waits for the brokers' ack.
type Kafka struct {
	Topic  string
	Client *kgo.Client
}

var _ Notifier = (*Kafka)(nil)

// NewKafka returns a Kafka notifier with its own client of the brokers.
func NewKafka(brokers []string, topic string) (*Kafka, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return &Kafka{Topic: topic, Client: cl}, nil
}

// Name returns "kafka".
func (k *Kafka) Name() string { return "kafka" }

// Notify produces the alert synchronously.
func (k *Kafka) Notify(ctx context.Context, a Alert) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	rec := &kgo.Record{Topic: k.Topic, Key: []byte(a.Rule), Value: v}
	if err := k.Client.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("kafka topic %s: %w", k.Topic, err)
	}
	return nil
}
